//! The PromQL lexer: turns a query into tokens, with Prometheus's context rules (keywords
//! are plain identifiers inside `{...}`, `[...]` holds a duration expression, `fill` is a
//! keyword only before `(`) and its error texts.

use crate::ast::AggregateOp;
use crate::printer::{go_char, go_quote_str, go_unicode};

/// The kind of a token.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// End of the input.
    Eof,
    /// A lexing error; the message is Prometheus's text. Ends the token stream.
    Error(String),
    /// `# ...` up to the end of the line.
    Comment,
    /// A name without colons (`foo`, `job`).
    Identifier,
    /// A name with a colon (`job:rate5m`).
    MetricIdentifier,
    /// A number (`1`, `0x1f`, `1e3`, `Inf`, `NaN`).
    Number,
    /// A duration (`5m`, `1h30m`).
    Duration,
    /// A quoted string, quotes included.
    String,
    /// `(`
    LeftParen,
    /// `)`
    RightParen,
    /// `{`
    LeftBrace,
    /// `}`
    RightBrace,
    /// `[`
    LeftBracket,
    /// `]`
    RightBracket,
    /// `,`
    Comma,
    /// `=`
    Eql,
    /// `:`
    Colon,
    /// `@`
    At,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^`
    Pow,
    /// `==`
    Eqlc,
    /// `!=`
    Neq,
    /// `<`
    Lss,
    /// `>`
    Gtr,
    /// `<=`
    Lte,
    /// `>=`
    Gte,
    /// `</`
    TrimUpper,
    /// `>/`
    TrimLower,
    /// `=~`
    EqlRegex,
    /// `!~`
    NeqRegex,
    /// `and`
    Land,
    /// `or`
    Lor,
    /// `unless`
    Lunless,
    /// `atan2`
    Atan2,
    /// An aggregation operator name.
    Aggregator(AggregateOp),
    /// `bool`
    Bool,
    /// `by`
    By,
    /// `without`
    Without,
    /// `on`
    On,
    /// `ignoring`
    Ignoring,
    /// `group_left`
    GroupLeft,
    /// `group_right`
    GroupRight,
    /// `fill` (only before `(`)
    Fill,
    /// `fill_left` (only before `(`)
    FillLeft,
    /// `fill_right` (only before `(`)
    FillRight,
    /// `offset`
    Offset,
    /// `anchored`
    Anchored,
    /// `smoothed`
    Smoothed,
    /// `start`
    Start,
    /// `end`
    End,
    /// `step`
    Step,
    /// `range`
    Range,
    /// `min_of`
    MinOf,
    /// `max_of`
    MaxOf,
}

impl TokenKind {
    /// Whether this is an operator token (Prometheus prints them as `<op:+>`).
    #[must_use]
    pub fn is_operator(&self) -> bool {
        use TokenKind as T;
        matches!(
            self,
            T::Add
                | T::Sub
                | T::Mul
                | T::Div
                | T::Mod
                | T::Pow
                | T::Eqlc
                | T::Neq
                | T::Lss
                | T::Gtr
                | T::Lte
                | T::Gte
                | T::TrimUpper
                | T::TrimLower
                | T::EqlRegex
                | T::NeqRegex
                | T::At
                | T::Land
                | T::Lor
                | T::Lunless
                | T::Atan2
        )
    }

    /// Whether this is a keyword token (printed as `<by>`).
    #[must_use]
    pub fn is_keyword(&self) -> bool {
        use TokenKind as T;
        matches!(
            self,
            T::Bool
                | T::By
                | T::Without
                | T::On
                | T::Ignoring
                | T::GroupLeft
                | T::GroupRight
                | T::Fill
                | T::FillLeft
                | T::FillRight
                | T::Offset
                | T::Anchored
                | T::Smoothed
        )
    }
}

/// One token: its kind and byte range in the query.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset one past its last character.
    pub end: usize,
}

/// Looks up a word (case-insensitive) among PromQL's keywords.
fn keyword(word: &str) -> Option<TokenKind> {
    use TokenKind as T;
    let lower = word.to_ascii_lowercase();
    if let Some(op) = AggregateOp::from_name(&lower) {
        return Some(T::Aggregator(op));
    }
    Some(match lower.as_str() {
        "and" => T::Land,
        "or" => T::Lor,
        "unless" => T::Lunless,
        "atan2" => T::Atan2,
        "offset" => T::Offset,
        "smoothed" => T::Smoothed,
        "anchored" => T::Anchored,
        "by" => T::By,
        "without" => T::Without,
        "on" => T::On,
        "ignoring" => T::Ignoring,
        "group_left" => T::GroupLeft,
        "group_right" => T::GroupRight,
        "fill" => T::Fill,
        "fill_left" => T::FillLeft,
        "fill_right" => T::FillRight,
        "bool" => T::Bool,
        "start" => T::Start,
        "end" => T::End,
        "step" => T::Step,
        "range" => T::Range,
        "max_of" => T::MaxOf,
        "min_of" => T::MinOf,
        "inf" | "nan" => T::Number,
        _ => return None,
    })
}

/// The keywords allowed inside a duration expression.
fn duration_keyword(word: &str) -> Option<TokenKind> {
    match word.to_ascii_lowercase().as_str() {
        "step" => Some(TokenKind::Step),
        "range" => Some(TokenKind::Range),
        "max_of" => Some(TokenKind::MaxOf),
        "min_of" => Some(TokenKind::MinOf),
        _ => None,
    }
}

/// Whether `c` is PromQL whitespace.
pub(crate) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn is_alpha(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_alnum(c: char) -> bool {
    is_alpha(c) || c.is_ascii_digit()
}

/// What the lexer is scanning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Statements,
    InsideBraces,
    DurationExpr,
    Done,
}

/// The lexer's state while it walks the input.
struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    mode: Mode,
    paren_depth: i64,
    bracket_open: bool,
    got_colon: bool,
    got_duration: bool,
}

/// Splits `input` into tokens. The last token is [`TokenKind::Eof`] or
/// [`TokenKind::Error`]; comments are included.
#[must_use]
pub fn tokenize(input: &str) -> Vec<Token> {
    let mut lx = Lexer {
        input,
        pos: 0,
        start: 0,
        mode: Mode::Statements,
        paren_depth: 0,
        bracket_open: false,
        got_colon: false,
        got_duration: false,
    };
    let mut out = Vec::new();
    while lx.mode != Mode::Done {
        let tok = match lx.mode {
            Mode::Statements => lx.lex_statement(),
            Mode::InsideBraces => lx.lex_inside_braces(),
            Mode::DurationExpr => lx.lex_duration_expr(),
            Mode::Done => None,
        };
        if let Some(t) = tok {
            if matches!(t.kind, TokenKind::Eof | TokenKind::Error(_)) {
                lx.mode = Mode::Done;
            }
            out.push(t);
        }
    }
    out
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.input[self.pos..].chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn is(&self, valid: &str) -> bool {
        self.peek().is_some_and(|c| valid.contains(c))
    }

    fn emit(&mut self, kind: TokenKind) -> Option<Token> {
        let t = Token {
            kind,
            start: self.start,
            end: self.pos,
        };
        self.start = self.pos;
        Some(t)
    }

    fn error(&mut self, msg: String) -> Option<Token> {
        Some(Token {
            kind: TokenKind::Error(msg),
            start: self.start,
            end: self.input.len(),
        })
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.next();
        }
        self.start = self.pos;
    }

    fn lex_statement(&mut self) -> Option<Token> {
        use TokenKind as T;
        if self.input[self.pos..].starts_with('#') {
            return self.lex_comment();
        }
        let Some(c) = self.next() else {
            if self.paren_depth != 0 {
                return self.error("unclosed left parenthesis".into());
            }
            if self.bracket_open {
                return self.error("unclosed left bracket".into());
            }
            return self.emit(T::Eof);
        };
        match c {
            ',' => self.emit(T::Comma),
            c if is_space(c) => {
                self.skip_spaces();
                None
            }
            '*' => self.emit(T::Mul),
            '/' => self.emit(T::Div),
            '%' => self.emit(T::Mod),
            '+' => self.emit(T::Add),
            '-' => self.emit(T::Sub),
            '^' => self.emit(T::Pow),
            '=' => match self.peek() {
                Some('=') => {
                    self.next();
                    self.emit(T::Eqlc)
                }
                Some('~') => self.error("unexpected character after '=': '~'".into()),
                _ => self.emit(T::Eql),
            },
            '!' => match self.next() {
                Some('=') => self.emit(T::Neq),
                other => self.error(format!(
                    "unexpected character after '!': {}",
                    go_char(other)
                )),
            },
            '<' => match self.peek() {
                Some('=') => {
                    self.next();
                    self.emit(T::Lte)
                }
                Some('/') => {
                    self.next();
                    self.emit(T::TrimUpper)
                }
                _ => self.emit(T::Lss),
            },
            '>' => match self.peek() {
                Some('=') => {
                    self.next();
                    self.emit(T::Gte)
                }
                Some('/') => {
                    self.next();
                    self.emit(T::TrimLower)
                }
                _ => self.emit(T::Gtr),
            },
            c if c.is_ascii_digit()
                || (c == '.' && self.peek().is_some_and(|d| d.is_ascii_digit())) =>
            {
                self.pos -= 1;
                self.lex_number_or_duration()
            }
            '"' | '\'' => self.lex_string(c),
            '`' => self.lex_raw_string(),
            c if is_alpha(c) || c == ':' => {
                if !self.bracket_open {
                    self.pos -= 1;
                    return self.lex_keyword_or_identifier();
                }
                if c == ':' {
                    if self.got_colon {
                        return self.error("unexpected colon ':'".into());
                    }
                    self.got_colon = true;
                    return self.emit(T::Colon);
                }
                if let Some(t) = self.scan_duration_keyword() {
                    return Some(t);
                }
                self.error(format!(
                    "unexpected character: {}, expected ':'",
                    go_char(Some(c))
                ))
            }
            '(' => {
                self.paren_depth += 1;
                self.emit(T::LeftParen)
            }
            ')' => {
                let t = self.emit(T::RightParen);
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return self.error("unexpected right parenthesis ')'".into());
                }
                t
            }
            '{' => {
                self.mode = Mode::InsideBraces;
                self.emit(T::LeftBrace)
            }
            '[' => {
                if self.bracket_open {
                    return self.error("unexpected left bracket '['".into());
                }
                self.got_colon = false;
                let t = self.emit(T::LeftBracket);
                self.skip_spaces();
                self.bracket_open = true;
                self.mode = Mode::DurationExpr;
                t
            }
            ']' => {
                if !self.bracket_open {
                    return self.error("unexpected right bracket ']'".into());
                }
                self.bracket_open = false;
                self.emit(T::RightBracket)
            }
            '@' => self.emit(T::At),
            c => self.error(format!("unexpected character: {}", go_char(Some(c)))),
        }
    }

    fn lex_comment(&mut self) -> Option<Token> {
        while let Some(c) = self.peek() {
            if c == '\n' || c == '\r' {
                break;
            }
            self.next();
        }
        self.emit(TokenKind::Comment)
    }

    fn lex_inside_braces(&mut self) -> Option<Token> {
        use TokenKind as T;
        if self.input[self.pos..].starts_with('#') {
            return self.lex_comment();
        }
        let Some(c) = self.next() else {
            return self.error("unexpected end of input inside braces".into());
        };
        match c {
            c if is_space(c) => {
                self.skip_spaces();
                None
            }
            c if is_alpha(c) => {
                while self.peek().is_some_and(is_alnum) {
                    self.next();
                }
                self.emit(T::Identifier)
            }
            ',' => self.emit(T::Comma),
            '"' | '\'' => self.lex_string(c),
            '`' => self.lex_raw_string(),
            '=' => {
                if self.accept("~") {
                    self.emit(T::EqlRegex)
                } else {
                    self.emit(T::Eql)
                }
            }
            '!' => match self.next() {
                Some('~') => self.emit(T::NeqRegex),
                Some('=') => self.emit(T::Neq),
                other => self.error(format!(
                    "unexpected character after '!' inside braces: {}",
                    go_char(other)
                )),
            },
            '{' => self.error("unexpected left brace '{'".into()),
            '}' => {
                self.mode = Mode::Statements;
                self.emit(T::RightBrace)
            }
            c => self.error(format!(
                "unexpected character inside braces: {}",
                go_char(Some(c))
            )),
        }
    }

    fn lex_duration_expr(&mut self) -> Option<Token> {
        use TokenKind as T;
        let Some(c) = self.next() else {
            return self.error("unexpected end of input in duration expression".into());
        };
        match c {
            ']' => {
                self.bracket_open = false;
                self.got_colon = false;
                self.mode = Mode::Statements;
                self.emit(T::RightBracket)
            }
            ':' => {
                let t = self.emit(T::Colon);
                if !self.got_duration {
                    return self
                        .error("unexpected colon before duration in duration expression".into());
                }
                if self.got_colon {
                    return self.error("unexpected repeated colon in duration expression".into());
                }
                self.got_colon = true;
                t
            }
            '(' => {
                self.paren_depth += 1;
                self.emit(T::LeftParen)
            }
            ')' => {
                let t = self.emit(T::RightParen);
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return self.error("unexpected right parenthesis ')'".into());
                }
                t
            }
            c if is_space(c) => {
                self.skip_spaces();
                None
            }
            '+' => self.emit(T::Add),
            '-' => self.emit(T::Sub),
            '*' => self.emit(T::Mul),
            '/' => self.emit(T::Div),
            '%' => self.emit(T::Mod),
            '^' => self.emit(T::Pow),
            ',' => self.emit(T::Comma),
            c if c.is_ascii_digit()
                || (c == '.' && self.peek().is_some_and(|d| d.is_ascii_digit())) =>
            {
                self.pos -= 1;
                self.got_duration = true;
                self.mode = Mode::Statements;
                self.lex_number_or_duration()
            }
            c if is_alpha(c) && "srm".contains(c.to_ascii_lowercase()) => {
                match self.scan_duration_keyword() {
                    Some(t) => Some(t),
                    None => self.error(format!(
                        "unexpected character in duration expression: {}",
                        go_char(Some(c))
                    )),
                }
            }
            c => self.error(format!(
                "unexpected character in duration expression: {}",
                go_char(Some(c))
            )),
        }
    }

    /// After the first letter: reads a word and emits it if it is `step`, `range`,
    /// `min_of` or `max_of`.
    fn scan_duration_keyword(&mut self) -> Option<Token> {
        while self.peek().is_some_and(is_alpha) {
            self.next();
        }
        let kind = duration_keyword(&self.input[self.start..self.pos])?;
        self.emit(kind)
    }

    fn lex_keyword_or_identifier(&mut self) -> Option<Token> {
        while self.peek().is_some_and(|c| is_alnum(c) || c == ':') {
            self.next();
        }
        let word = &self.input[self.start..self.pos];
        let kind = match keyword(word) {
            Some(TokenKind::Fill | TokenKind::FillLeft | TokenKind::FillRight)
                if !self.followed_by_paren() =>
            {
                TokenKind::Identifier
            }
            Some(k) => k,
            None if word.contains(':') => TokenKind::MetricIdentifier,
            None => TokenKind::Identifier,
        };
        self.emit(kind)
    }

    fn followed_by_paren(&self) -> bool {
        self.input[self.pos..].chars().find(|c| !is_space(*c)) == Some('(')
    }

    fn lex_string(&mut self, quote: char) -> Option<Token> {
        loop {
            match self.next() {
                Some('\\') => {
                    if let Err(msg) = self.lex_escape(quote) {
                        return self.error(msg);
                    }
                }
                None | Some('\n') => return self.error("unterminated quoted string".into()),
                Some(c) if c == quote => return self.emit(TokenKind::String),
                Some(_) => {}
            }
        }
    }

    fn lex_escape(&mut self, quote: char) -> Result<(), String> {
        let Some(c) = self.next() else {
            return Err("escape sequence not terminated".into());
        };
        let (mut n, base, max): (u32, u32, u32) = match c {
            'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\' => return Ok(()),
            c if c == quote => return Ok(()),
            '0'..='7' => {
                self.pos -= 1;
                (3, 8, 255)
            }
            'x' => (2, 16, 255),
            'u' => (4, 16, 0x10_FFFF),
            'U' => (8, 16, 0x10_FFFF),
            c => return Err(format!("unknown escape sequence {}", go_unicode(c))),
        };
        let mut x: u32 = 0;
        while n > 0 {
            let Some(c) = self.next() else {
                return Err("escape sequence not terminated".into());
            };
            let d = c.to_digit(16).filter(|d| *d < base);
            let Some(d) = d else {
                return Err(format!(
                    "illegal character {} in escape sequence",
                    go_unicode(c)
                ));
            };
            x = x.saturating_mul(base).saturating_add(d);
            n -= 1;
        }
        if x > max || (0xD800..0xE000).contains(&x) {
            return Err("escape sequence is an invalid Unicode code point".into());
        }
        Ok(())
    }

    fn lex_raw_string(&mut self) -> Option<Token> {
        loop {
            match self.next() {
                None => return self.error("unterminated raw string".into()),
                Some('`') => return self.emit(TokenKind::String),
                Some(_) => {}
            }
        }
    }

    fn lex_number_or_duration(&mut self) -> Option<Token> {
        if self.scan_number() {
            return self.emit(TokenKind::Number);
        }
        if self.accept_remaining_duration() {
            return self.emit(TokenKind::Duration);
        }
        let text = &self.input[self.start..self.pos.min(self.input.len())];
        self.error(format!(
            "bad number or duration syntax: {}",
            go_quote_str(text)
        ))
    }

    /// After a failed number scan: the rest of a duration such as `5m` or `1h30m`.
    /// On failure the position is left one character past the offending one.
    fn accept_remaining_duration(&mut self) -> bool {
        if !self.accept("smhdwy") {
            return false;
        }
        self.accept("s");
        while self.accept("0123456789") {
            while self.accept("0123456789") {}
            if !self.accept("smhdw") {
                return false;
            }
            self.accept("s");
        }
        match self.peek() {
            Some(c) if is_alnum(c) => {
                self.next();
                false
            }
            _ => true,
        }
    }

    /// Scans a decimal, hexadecimal or float literal; `false` when what follows makes it
    /// not a number (such as a duration unit).
    fn scan_number(&mut self) -> bool {
        let initial = self.pos;
        let mut digits = "0123456789";
        let mut hex = false;
        if self.accept("0") && self.accept("xX") {
            self.accept("_");
            digits = "0123456789abcdefABCDEF";
            hex = true;
        }
        self.accept(".");
        self.accept(digits);
        let mut dot = false;
        let mut exp = false;
        while self
            .peek()
            .is_some_and(|c| digits.contains(c) || "._eE".contains(c))
        {
            if self.is(".") && dot {
                self.accept(".");
                return false;
            }
            if self.is("eE") && exp {
                self.accept("eE");
                return false;
            }
            if self.accept(".") {
                dot = true;
                if self.accept("_.") || hex {
                    return false;
                }
                continue;
            }
            if self.accept("eE") {
                exp = true;
                self.accept("+-");
                if self.accept("._eE") || self.peek().is_none() {
                    return false;
                }
                continue;
            }
            if self.accept("_") {
                if self.accept("._eE") || self.peek().is_none() {
                    return false;
                }
                continue;
            }
            while self.accept(digits) {}
        }
        if self.pos == initial {
            return false;
        }
        !self.peek().is_some_and(is_alnum)
    }
}
