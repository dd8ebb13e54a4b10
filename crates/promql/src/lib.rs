//! The PromQL language: lexer, parser, AST, printer and evaluation engine.

pub mod ast;
pub mod engine;
pub mod error;
pub mod functions;
pub mod kernels;
pub mod lexer;
pub mod parser;
pub mod printer;
pub mod promqltest;
pub mod value;

pub use engine::{Engine, EngineOptions, EvalError, QueryResult, default_max_memory_bytes};
pub use error::ParseError;
pub use value::{Sample, Series, Value};
