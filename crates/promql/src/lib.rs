//! The PromQL language: lexer, parser, AST, printer and evaluation engine.
