//! The PromQL language: lexer, parser, AST, printer and evaluation engine.

pub mod ast;
pub mod error;
pub mod functions;
pub mod lexer;
pub mod parser;
pub mod printer;

pub use error::ParseError;
