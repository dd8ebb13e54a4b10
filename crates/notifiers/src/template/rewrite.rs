//! Rewrites parsed templates so that the methods Alertmanager's template data has in Go
//! (`KV.SortedPairs`, `KV.Names`, `KV.Values`, `KV.Remove`, `Pairs.Names`, `Pairs.Values`,
//! `Alerts.Firing`, `Alerts.Resolved`) become calls of functions over gotmpl values, which
//! have no methods; and so that printing a missing map key gives "" (Go's zero string of a
//! `map[string]string`) rather than `<no value>`.

use gotmpl::parse::{CommandNode, Expr, ListNode, Node, PipeNode, Pos, SmolStr};

/// The methods of Alertmanager's template types.
pub(super) const METHODS: [&str; 6] = [
    "SortedPairs",
    "Names",
    "Values",
    "Remove",
    "Firing",
    "Resolved",
];

/// The function a method becomes.
pub(super) fn method_func(m: &str) -> String {
    format!("__method_{m}")
}

/// The function appended to every printing action.
pub(super) const PRINT_FUNC: &str = "__print";

fn call(pos: Pos, m: &str, receiver: Expr, extra: Vec<Expr>) -> Expr {
    let mut args = vec![
        Expr::Identifier(pos, SmolStr::new(method_func(m))),
        receiver,
    ];
    args.extend(extra);
    Expr::Pipe(
        pos,
        PipeNode {
            pos,
            decl: Vec::new(),
            commands: vec![CommandNode { pos, args }],
            is_assign: false,
        },
    )
}

/// Splits a field chain at its first method: the receiver's fields, the method, the rest.
fn split(fields: &[SmolStr]) -> Option<(usize, &str)> {
    fields
        .iter()
        .position(|f| METHODS.contains(&f.as_str()))
        .map(|i| (i, fields[i].as_str()))
}

/// Rewrites one expression; `extra` are the arguments a method at the end of the chain
/// receives (when the expression is a command's first word).
fn expr(e: Expr, extra: &mut Vec<Expr>) -> Expr {
    let (pos, base, fields): (Pos, Expr, Vec<SmolStr>) = match e {
        Expr::Field(pos, fields) => (pos, Expr::Dot(pos), fields),
        Expr::Variable(pos, name, fields) => (pos, Expr::Variable(pos, name, Vec::new()), fields),
        Expr::Chain(pos, inner, fields) => {
            let inner = expr(*inner, &mut Vec::new());
            (pos, inner, fields)
        }
        Expr::Pipe(pos, p) => return Expr::Pipe(pos, pipe(p)),
        other => return other,
    };
    let Some((i, m)) = split(&fields) else {
        return rebuild(pos, base, fields);
    };
    let receiver = rebuild(pos, base, fields[..i].to_vec());
    let rest = fields[i + 1..].to_vec();
    let args = if rest.is_empty() {
        std::mem::take(extra)
    } else {
        Vec::new()
    };
    let called = call(pos, m, receiver, args);
    if rest.is_empty() {
        called
    } else {
        expr(Expr::Chain(pos, Box::new(called), rest), extra)
    }
}

/// `base` followed by `fields`, in the node kind that expresses it.
fn rebuild(pos: Pos, base: Expr, fields: Vec<SmolStr>) -> Expr {
    if fields.is_empty() {
        return base;
    }
    match base {
        Expr::Dot(_) => Expr::Field(pos, fields),
        Expr::Variable(p, name, mut f) => {
            f.extend(fields);
            Expr::Variable(p, name, f)
        }
        Expr::Chain(p, inner, mut f) => {
            f.extend(fields);
            Expr::Chain(p, inner, f)
        }
        other => Expr::Chain(pos, Box::new(other), fields),
    }
}

fn command(c: CommandNode) -> CommandNode {
    let pos = c.pos;
    let mut args = c.args.into_iter();
    let Some(first) = args.next() else {
        return CommandNode {
            pos,
            args: Vec::new(),
        };
    };
    let mut rest: Vec<Expr> = args.map(|a| expr(a, &mut Vec::new())).collect();
    let takes_args = matches!(
        &first,
        Expr::Field(..) | Expr::Variable(..) | Expr::Chain(..)
    );
    if takes_args && !rest.is_empty() {
        // A method called with arguments: `.CommonLabels.Remove .GroupLabels.Names`.
        let first = expr(first, &mut rest);
        if rest.is_empty() {
            // The method took them: the command is now the call itself.
            return CommandNode {
                pos,
                args: unwrap_call(first),
            };
        }
        let mut args = vec![first];
        args.extend(rest);
        return CommandNode { pos, args };
    }
    let mut args = vec![expr(first, &mut Vec::new())];
    args.extend(rest);
    CommandNode { pos, args }
}

/// The words of a call built by [`call`] (so that piped values reach the method).
fn unwrap_call(e: Expr) -> Vec<Expr> {
    match e {
        Expr::Pipe(_, mut p) if p.commands.len() == 1 && p.decl.is_empty() => {
            p.commands.remove(0).args
        }
        other => vec![other],
    }
}

fn pipe(p: PipeNode) -> PipeNode {
    PipeNode {
        commands: p.commands.into_iter().map(command).collect(),
        ..p
    }
}

/// Rewrites a parsed template body in place.
pub(super) fn list(l: &mut ListNode) {
    for node in &mut l.nodes {
        match node {
            Node::List(inner) => list(inner),
            Node::Action(a) => {
                a.pipe = pipe(std::mem::replace(&mut a.pipe, empty_pipe(a.pos)));
                if a.pipe.decl.is_empty() && !ends_in_escaper(&a.pipe) {
                    a.pipe.commands.push(CommandNode {
                        pos: a.pos,
                        args: vec![Expr::Identifier(a.pos, SmolStr::new(PRINT_FUNC))],
                    });
                }
            }
            Node::If(b) | Node::Range(b) | Node::With(b) => {
                b.pipe = pipe(std::mem::replace(&mut b.pipe, empty_pipe(b.pos)));
                list(&mut b.body);
                if let Some(e) = &mut b.else_body {
                    list(e);
                }
            }
            Node::Template(t) => {
                if let Some(p) = t.pipe.take() {
                    t.pipe = Some(pipe(p));
                }
            }
            Node::Define(d) => list(&mut d.body),
            _ => {}
        }
    }
}

/// Whether a pipeline ends in `html` or `urlquery`, which `html/template` accepts only as
/// the last command (their output is never missing, so nothing needs appending).
fn ends_in_escaper(p: &PipeNode) -> bool {
    p.commands.last().is_some_and(|c| {
        matches!(c.args.first(), Some(Expr::Identifier(_, n)) if n == "html" || n == "urlquery")
    })
}

fn empty_pipe(pos: Pos) -> PipeNode {
    PipeNode {
        pos,
        decl: Vec::new(),
        commands: Vec::new(),
        is_assign: false,
    }
}
