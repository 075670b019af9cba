//! A SOQL tokenizer, parser and evaluator for the subset a sync client needs (SOQL guide:
//! "SOQL SELECT Syntax", "Comparison Operators", "Quoted String Escape Sequences", "Date Formats").

use chrono::NaiveDate;

use crate::schema::Kind;
use crate::store::Table;
use crate::values::{self, Val};

/// Maximum SOQL statement length (research §3.2: 100,000 characters).
pub const MAX_SOQL_LEN: usize = 100_000;

/// A query error: Salesforce error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoqlError {
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Date(NaiveDate),
    DateTime(i64),
    Sym(&'static str),
    Eof,
}

impl Tok {
    fn show(&self) -> String {
        match self {
            Tok::Ident(s) => s.clone(),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Num(n) => n.to_string(),
            Tok::Date(d) => d.to_string(),
            Tok::DateTime(ms) => values::format_datetime(*ms),
            Tok::Sym(s) => (*s).to_owned(),
            Tok::Eof => "<EOF>".to_owned(),
        }
    }
}

fn located(q: &str, col: usize, text: &str) -> String {
    // Salesforce echoes the statement with a caret and "ERROR at Row:1:Column:N".
    let line = q.lines().next().unwrap_or_default();
    let shown: String = line.chars().take(120).collect();
    format!(
        "\n{shown}\n{}^\nERROR at Row:1:Column:{}\n{text}",
        " ".repeat(col.min(120)),
        col + 1
    )
}

fn malformed(q: &str, col: usize, text: &str) -> SoqlError {
    SoqlError {
        code: "MALFORMED_QUERY",
        message: located(q, col, text),
    }
}

fn tokenize(q: &str) -> Result<Vec<(Tok, usize)>, SoqlError> {
    let chars: Vec<char> = q.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '\'' {
            i += 1;
            let mut s = String::new();
            loop {
                let Some(&c) = chars.get(i) else {
                    return Err(malformed(
                        q,
                        start,
                        "line 1:{start} mismatched character '<EOF>' expecting '''",
                    ));
                };
                i += 1;
                match c {
                    '\'' => break,
                    '\\' => {
                        let Some(&e) = chars.get(i) else {
                            return Err(malformed(
                                q,
                                i,
                                "Invalid string literal: unterminated escape",
                            ));
                        };
                        i += 1;
                        match e {
                            'n' | 'N' => s.push('\n'),
                            'r' | 'R' => s.push('\r'),
                            't' | 'T' => s.push('\t'),
                            'b' | 'B' => s.push('\u{8}'),
                            'f' | 'F' => s.push('\u{c}'),
                            '"' => s.push('"'),
                            '\'' => s.push('\''),
                            '\\' => s.push('\\'),
                            // LIKE-only escapes: kept escaped, resolved by the LIKE matcher.
                            '_' | '%' => {
                                s.push('\\');
                                s.push(e);
                            }
                            'u' | 'U' => {
                                let hex: String = chars.iter().skip(i).take(4).collect();
                                let cp = u32::from_str_radix(&hex, 16)
                                    .ok()
                                    .filter(|_| hex.len() == 4)
                                    .and_then(char::from_u32)
                                    .ok_or_else(|| {
                                        malformed(
                                            q,
                                            i,
                                            &format!("Invalid unicode escape: \\u{hex}"),
                                        )
                                    })?;
                                s.push(cp);
                                i += 4;
                            }
                            other => {
                                return Err(malformed(
                                    q,
                                    i - 2,
                                    &format!(
                                        "Invalid string literal '\\{other}'. Illegal character sequence '\\{other}' in string literal."
                                    ),
                                ));
                            }
                        }
                    }
                    _ => s.push(c),
                }
            }
            out.push((Tok::Str(s), start));
            continue;
        }
        if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '.' | ':' | '-' | '+'))
            {
                // A '-' or '+' continues a literal only inside a date/datetime.
                if matches!(chars[i], '-' | '+')
                    && !chars[start..i].iter().any(|&c| c == '-' || c == 'T')
                    && chars[start] != '-'
                    && i - start != 4
                {
                    break;
                }
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let tok = if let Some(d) = values::parse_date(&text) {
                Tok::Date(d)
            } else if text.contains('T') && text.len() > 10 {
                match values::parse_datetime(&text) {
                    Some(ms) if text.ends_with('Z') || text[10..].contains(['+', '-']) => {
                        Tok::DateTime(ms)
                    }
                    _ => {
                        return Err(malformed(
                            q,
                            start,
                            &format!("line 1:{start} no viable alternative at character '{text}'"),
                        ));
                    }
                }
            } else if let Ok(n) = text.parse::<f64>() {
                Tok::Num(n)
            } else {
                return Err(malformed(q, start, &format!("unexpected token: '{text}'")));
            };
            out.push((tok, start));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '.')) {
                i += 1;
            }
            out.push((Tok::Ident(chars[start..i].iter().collect()), start));
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let sym = match two.as_str() {
            "!=" => Some("!="),
            "<>" => Some("<>"),
            "<=" => Some("<="),
            ">=" => Some(">="),
            _ => None,
        };
        if let Some(s) = sym {
            out.push((Tok::Sym(s), start));
            i += 2;
            continue;
        }
        let sym = match c {
            '(' => "(",
            ')' => ")",
            ',' => ",",
            '=' => "=",
            '<' => "<",
            '>' => ">",
            _ => {
                return Err(malformed(
                    q,
                    start,
                    &format!("line 1:{start} no viable alternative at character '{c}'"),
                ));
            }
        };
        out.push((Tok::Sym(sym), start));
        i += 1;
    }
    out.push((Tok::Eof, chars.len()));
    Ok(out)
}

/// A literal on the right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Null,
    Str(String),
    Num(f64),
    Bool(bool),
    Date(NaiveDate),
    DateTime(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
}

/// A WHERE condition over field positions.
#[derive(Debug, Clone)]
pub enum Cond {
    Cmp(usize, Op, Val),
    In(usize, Vec<Val>, bool),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
}

/// A parsed and resolved query.
#[derive(Debug, Clone)]
pub struct Query {
    pub object: String,
    /// `None` for `COUNT()`.
    pub fields: Option<Vec<usize>>,
    pub cond: Option<Cond>,
    pub order: Vec<(usize, bool, bool)>,
    pub limit: Option<usize>,
    pub offset: usize,
}

struct Parser<'a> {
    q: &'a str,
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].0
    }
    fn col(&self) -> usize {
        self.toks[self.pos].1
    }
    fn next(&mut self) -> Tok {
        let t = self.toks[self.pos].0.clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }
    fn unexpected(&self) -> SoqlError {
        malformed(
            self.q,
            self.col(),
            &format!("unexpected token: '{}'", self.peek().show()),
        )
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.next();
            true
        } else {
            false
        }
    }
    fn expect_kw(&mut self, kw: &str) -> Result<(), SoqlError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }
    fn eat_sym(&mut self, s: &str) -> bool {
        if matches!(self.peek(), Tok::Sym(x) if *x == s) {
            self.next();
            true
        } else {
            false
        }
    }
    fn expect_sym(&mut self, s: &str) -> Result<(), SoqlError> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }
    fn ident(&mut self) -> Result<(String, usize), SoqlError> {
        let col = self.col();
        if let Tok::Ident(s) = self.peek().clone() {
            self.next();
            Ok((s, col))
        } else {
            Err(self.unexpected())
        }
    }
    fn usize_lit(&mut self) -> Result<usize, SoqlError> {
        match self.peek().clone() {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            // checked non-negative whole
            Tok::Num(n) if n >= 0.0 && n.fract() == 0.0 => {
                self.next();
                Ok(n as usize)
            }
            _ => Err(self.unexpected()),
        }
    }
    fn literal(&mut self) -> Result<(Lit, usize), SoqlError> {
        let col = self.col();
        let lit = match self.next() {
            Tok::Str(s) => Lit::Str(s),
            Tok::Num(n) => Lit::Num(n),
            Tok::Date(d) => Lit::Date(d),
            Tok::DateTime(ms) => Lit::DateTime(ms),
            Tok::Ident(s) if s.eq_ignore_ascii_case("null") => Lit::Null,
            Tok::Ident(s) if s.eq_ignore_ascii_case("true") => Lit::Bool(true),
            Tok::Ident(s) if s.eq_ignore_ascii_case("false") => Lit::Bool(false),
            _ => {
                self.pos -= 1;
                return Err(self.unexpected());
            }
        };
        Ok((lit, col))
    }
}

const RESERVED: &[&str] = &[
    "and", "or", "not", "from", "where", "order", "by", "limit", "offset", "in", "like", "null",
    "true", "false", "select",
];

/// Parses `q` and resolves names against the FROM object's table (looked up by `find_table`).
pub fn parse<'t>(
    q: &str,
    find_table: &dyn Fn(&str) -> Option<&'t Table>,
) -> Result<Query, SoqlError> {
    if q.chars().count() > MAX_SOQL_LEN {
        return Err(SoqlError {
            code: "MALFORMED_QUERY",
            message: format!("SOQL statements cannot be longer than {MAX_SOQL_LEN} characters."),
        });
    }
    let mut p = Parser {
        q,
        toks: tokenize(q)?,
        pos: 0,
    };
    p.expect_kw("SELECT")?;
    let mut count = false;
    let mut names = Vec::new();
    if p.is_kw("COUNT") && matches!(p.toks.get(p.pos + 1), Some((Tok::Sym("("), _))) {
        p.next();
        p.expect_sym("(")?;
        p.expect_sym(")")?;
        count = true;
    } else {
        loop {
            let (name, col) = p.ident()?;
            if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
                p.pos -= 1;
                return Err(p.unexpected());
            }
            names.push((name, col));
            if !p.eat_sym(",") {
                break;
            }
        }
    }
    p.expect_kw("FROM")?;
    let (obj, obj_col) = p.ident()?;
    let table = find_table(&obj).ok_or_else(|| SoqlError {
        code: "INVALID_TYPE",
        message: located(q, obj_col, &format!("sObject type '{obj}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.")),
    })?;
    let resolve = |name: &str, col: usize| {
        table.field_index(name).ok_or_else(|| SoqlError {
            code: "INVALID_FIELD",
            message: located(q, col, &format!("No such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", table.def.name)),
        })
    };
    let fields = if count {
        None
    } else {
        let mut v = Vec::new();
        for (n, c) in &names {
            let i = resolve(n, *c)?;
            if v.contains(&i) {
                return Err(SoqlError {
                    code: "MALFORMED_QUERY",
                    message: located(q, *c, &format!("duplicate field selected: {n}")),
                });
            }
            v.push(i);
        }
        Some(v)
    };
    let cond = if p.eat_kw("WHERE") {
        Some(parse_or(&mut p, table, &resolve)?)
    } else {
        None
    };
    let mut order = Vec::new();
    if p.eat_kw("ORDER") {
        p.expect_kw("BY")?;
        loop {
            let (n, c) = p.ident()?;
            let fi = resolve(&n, c)?;
            let desc = if p.eat_kw("DESC") {
                true
            } else {
                p.eat_kw("ASC");
                false
            };
            let mut nulls_last = desc;
            if p.eat_kw("NULLS") {
                if p.eat_kw("LAST") {
                    nulls_last = true;
                } else {
                    p.expect_kw("FIRST")?;
                    nulls_last = false;
                }
            }
            order.push((fi, desc, nulls_last));
            if !p.eat_sym(",") {
                break;
            }
        }
    }
    let limit = if p.eat_kw("LIMIT") {
        Some(p.usize_lit()?)
    } else {
        None
    };
    let offset = if p.eat_kw("OFFSET") {
        p.usize_lit()?
    } else {
        0
    };
    if *p.peek() != Tok::Eof {
        return Err(p.unexpected());
    }
    Ok(Query {
        object: table.def.name.clone(),
        fields,
        cond,
        order,
        limit,
        offset,
    })
}

type Resolve<'a> = dyn Fn(&str, usize) -> Result<usize, SoqlError> + 'a;

fn parse_or(p: &mut Parser<'_>, t: &Table, r: &Resolve<'_>) -> Result<Cond, SoqlError> {
    let first = parse_not(p, t, r)?;
    // SOQL rejects AND and OR mixed at one level without parentheses.
    if p.is_kw("AND") {
        let mut parts = vec![first];
        while p.eat_kw("AND") {
            parts.push(parse_not(p, t, r)?);
        }
        if p.is_kw("OR") {
            return Err(p.unexpected());
        }
        return Ok(Cond::And(parts));
    }
    if p.is_kw("OR") {
        let mut parts = vec![first];
        while p.eat_kw("OR") {
            parts.push(parse_not(p, t, r)?);
        }
        if p.is_kw("AND") {
            return Err(p.unexpected());
        }
        return Ok(Cond::Or(parts));
    }
    Ok(first)
}

fn parse_not(p: &mut Parser<'_>, t: &Table, r: &Resolve<'_>) -> Result<Cond, SoqlError> {
    if p.eat_kw("NOT") {
        return Ok(Cond::Not(Box::new(parse_not(p, t, r)?)));
    }
    if p.eat_sym("(") {
        let c = parse_or(p, t, r)?;
        p.expect_sym(")")?;
        return Ok(c);
    }
    let (name, col) = p.ident()?;
    let fi = r(&name, col)?;
    let field = t.field(fi);
    if !field.filterable {
        return Err(SoqlError {
            code: "INVALID_FIELD",
            message: located(
                p.q,
                col,
                &format!("field '{}' can not be filtered in a query call", field.name),
            ),
        });
    }
    let negated_in = p.is_kw("NOT")
        && matches!(p.toks.get(p.pos + 1), Some((Tok::Ident(s), _)) if s.eq_ignore_ascii_case("IN"));
    if negated_in || p.is_kw("IN") {
        if negated_in {
            p.next();
        }
        p.next();
        p.expect_sym("(")?;
        let mut vals = Vec::new();
        loop {
            let (lit, c) = p.literal()?;
            vals.push(coerce(p.q, t, fi, lit, c)?);
            if !p.eat_sym(",") {
                break;
            }
        }
        p.expect_sym(")")?;
        return Ok(Cond::In(fi, vals, negated_in));
    }
    let op = if p.eat_kw("LIKE") {
        Op::Like
    } else {
        let col = p.col();
        match p.next() {
            Tok::Sym("=") => Op::Eq,
            Tok::Sym("!=" | "<>") => Op::Ne,
            Tok::Sym("<") => Op::Lt,
            Tok::Sym("<=") => Op::Le,
            Tok::Sym(">") => Op::Gt,
            Tok::Sym(">=") => Op::Ge,
            _ => {
                p.pos -= 1;
                let _ = col;
                return Err(p.unexpected());
            }
        }
    };
    let (lit, c) = p.literal()?;
    if op == Op::Like && (!matches!(lit, Lit::Str(_)) || field.kind() != Kind::Text) {
        return Err(SoqlError {
            code: "INVALID_FIELD",
            message: located(
                p.q,
                c,
                &format!("invalid operator on field '{}'", field.name),
            ),
        });
    }
    if lit == Lit::Null && !matches!(op, Op::Eq | Op::Ne) {
        return Err(p.unexpected());
    }
    let v = if op == Op::Like {
        match lit {
            Lit::Str(s) => Val::Text(s),
            _ => Val::Null,
        }
    } else {
        coerce(p.q, t, fi, lit, c)?
    };
    Ok(Cond::Cmp(fi, op, v))
}

/// Checks the literal's type against the field's (SOQL "fieldExpression Syntax").
fn coerce(q: &str, t: &Table, fi: usize, lit: Lit, col: usize) -> Result<Val, SoqlError> {
    let f = t.field(fi);
    let wrong = |what: &str| SoqlError {
        code: "INVALID_FIELD",
        message: located(
            q,
            col,
            &format!(
                "value of filter criterion for field '{}' must be of type {what}",
                f.name
            ),
        ),
    };
    match (f.kind(), lit) {
        (_, Lit::Null) => Ok(Val::Null),
        (Kind::Text, Lit::Str(s)) if matches!(f.field_type.as_str(), "id" | "reference") => {
            // Id filters take 15- or 18-character Ids; stored Ids are 18 characters.
            Ok(Val::Text(crate::ids::normalize(&s).unwrap_or(s)))
        }
        (Kind::Text, Lit::Str(s)) => Ok(Val::Text(s.replace("\\_", "_").replace("\\%", "%"))),
        (Kind::Text, _) => Err(wrong("string and should be enclosed in quotes")),
        (Kind::Number, Lit::Num(n)) => Ok(Val::Num(n)),
        (Kind::Number, _) => Err(wrong("double and should not be enclosed in quotes")),
        (Kind::Boolean, Lit::Bool(b)) => Ok(Val::Bool(b)),
        (Kind::Boolean, _) => Err(wrong("boolean and should not be enclosed in quotes")),
        (Kind::Date, Lit::Date(d)) => Ok(Val::Date(d)),
        (Kind::Date, _) => Err(wrong("date and should not be enclosed in quotes")),
        (Kind::DateTime, Lit::DateTime(ms)) => Ok(Val::DateTime(ms)),
        (Kind::DateTime, _) => Err(wrong("dateTime and should not be enclosed in quotes")),
    }
}

fn cmp_vals(a: &Val, b: &Val) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Val::Text(x), Val::Text(y)) => Some(x.to_lowercase().cmp(&y.to_lowercase())),
        (Val::Num(x), Val::Num(y)) => x.partial_cmp(y),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
        (Val::Date(x), Val::Date(y)) => Some(x.cmp(y)),
        (Val::DateTime(x), Val::DateTime(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn eq_vals(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Null, Val::Null) => true,
        (Val::Null, _) | (_, Val::Null) => false,
        _ => cmp_vals(a, b) == Some(std::cmp::Ordering::Equal),
    }
}

fn like(pattern: &str, text: &str) -> bool {
    // Case-insensitive; `%` any run, `_` one char, `\%`/`\_` literal.
    let mut pat = Vec::new();
    let mut it = pattern.chars().flat_map(char::to_lowercase);
    while let Some(c) = it.next() {
        match c {
            '\\' => pat.push((it.next().unwrap_or('\\'), true)),
            c => pat.push((c, false)),
        }
    }
    let txt: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < txt.len() {
        if pi < pat.len() && !pat[pi].1 && pat[pi].0 == '%' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if pi < pat.len() && ((!pat[pi].1 && pat[pi].0 == '_') || pat[pi].0 == txt[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < pat.len() && !pat[pi].1 && pat[pi].0 == '%' {
        pi += 1;
    }
    pi == pat.len()
}

/// Whether a row matches (SOQL: `!=` and `NOT IN` include nulls; ordering comparisons exclude them).
#[must_use]
pub fn matches(c: &Cond, vals: &[Val]) -> bool {
    match c {
        Cond::Cmp(fi, op, v) => {
            let a = &vals[*fi];
            match op {
                Op::Eq => eq_vals(a, v),
                Op::Ne => !eq_vals(a, v),
                Op::Like => match (a, v) {
                    (Val::Text(t), Val::Text(p)) => like(p, t),
                    _ => false,
                },
                Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                    let Some(o) = cmp_vals(a, v) else {
                        return false;
                    };
                    match op {
                        Op::Lt => o.is_lt(),
                        Op::Le => o.is_le(),
                        Op::Gt => o.is_gt(),
                        _ => o.is_ge(),
                    }
                }
            }
        }
        Cond::In(fi, list, neg) => {
            let hit = list.iter().any(|v| eq_vals(&vals[*fi], v));
            hit != *neg
        }
        Cond::And(parts) => parts.iter().all(|p| matches(p, vals)),
        Cond::Or(parts) => parts.iter().any(|p| matches(p, vals)),
        Cond::Not(inner) => !matches(inner, vals),
    }
}

/// Equality values usable with the table's index: from `f = v` or `f IN (…)` (or an AND containing one).
fn index_candidates(c: &Cond, out: &mut Vec<(usize, Vec<Val>)>) {
    match c {
        Cond::Cmp(fi, Op::Eq, v) if *v != Val::Null => out.push((*fi, vec![v.clone()])),
        Cond::In(fi, list, false) if !list.contains(&Val::Null) => out.push((*fi, list.clone())),
        Cond::And(parts) => parts.iter().for_each(|p| index_candidates(p, out)),
        _ => {}
    }
}

/// The most selective candidate: never a boolean (half the table) when another exists, then the
/// fewest keys.
fn index_plan(c: &Cond, table: &Table) -> Option<(usize, Vec<Val>)> {
    let mut cands = Vec::new();
    index_candidates(c, &mut cands);
    cands
        .into_iter()
        .min_by_key(|(fi, keys)| (table.field(*fi).kind() == Kind::Boolean, keys.len()))
}

/// Runs a query: the matching live rows in result order (after ORDER BY, OFFSET and LIMIT).
pub fn execute(q: &Query, table: &mut Table) -> Vec<usize> {
    let mut rows: Vec<usize> = match q.cond.as_ref().and_then(|c| index_plan(c, table)) {
        Some((fi, vals)) if table.field(fi).field_type == "id" => vals
            .iter()
            .filter_map(|v| {
                if let Val::Text(s) = v {
                    crate::ids::normalize(s)
                } else {
                    None
                }
            })
            .filter_map(|id| table.row_of(&id))
            .collect(),
        Some((fi, vals)) => {
            let keys: Vec<String> = vals.iter().filter_map(Val::index_key).collect();
            table.lookup(fi, &keys)
        }
        None => (0..table.rows.len()).collect(),
    };
    rows.retain(|&r| {
        !table.rows[r].deleted
            && q.cond
                .as_ref()
                .is_none_or(|c| matches(c, &table.rows[r].vals))
    });
    rows.sort_unstable();
    rows.dedup();
    if !q.order.is_empty() {
        rows.sort_by(|&a, &b| {
            for &(fi, desc, nulls_last) in &q.order {
                let (va, vb) = (&table.rows[a].vals[fi], &table.rows[b].vals[fi]);
                let o = match (va, vb) {
                    (Val::Null, Val::Null) => std::cmp::Ordering::Equal,
                    (Val::Null, _) => {
                        if nulls_last {
                            std::cmp::Ordering::Greater
                        } else {
                            std::cmp::Ordering::Less
                        }
                    }
                    (_, Val::Null) => {
                        if nulls_last {
                            std::cmp::Ordering::Less
                        } else {
                            std::cmp::Ordering::Greater
                        }
                    }
                    _ => {
                        let o = cmp_vals(va, vb).unwrap_or(std::cmp::Ordering::Equal);
                        if desc { o.reverse() } else { o }
                    }
                };
                if o.is_ne() {
                    return o;
                }
            }
            a.cmp(&b)
        });
    }
    let rows = rows.into_iter().skip(q.offset);
    match q.limit {
        Some(l) => rows.take(l).collect(),
        None => rows.collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Schema;

    fn lead() -> Table {
        let s = Schema::default_schema();
        Table::new(
            s.objects
                .into_iter()
                .find(|o| o.name == "Lead")
                .expect("Lead"),
        )
    }

    fn p(q: &str) -> Result<Query, SoqlError> {
        let t = lead();
        parse(q, &|n| {
            if n.eq_ignore_ascii_case("lead") {
                Some(&t)
            } else {
                None
            }
        })
    }

    #[test]
    fn escapes_and_errors() {
        let q = p(r"SELECT Id FROM Lead WHERE Email IN ('o\'neil@x.com', 'back\\slash@x.com', '\u00e9@x.com')").expect("parses");
        let Some(Cond::In(_, vals, false)) = q.cond else {
            panic!("IN expected")
        };
        assert_eq!(vals[0], Val::Text("o'neil@x.com".into()));
        assert_eq!(vals[1], Val::Text("back\\slash@x.com".into()));
        assert_eq!(vals[2], Val::Text("é@x.com".into()));
        assert_eq!(
            p(r"SELECT Id FROM Lead WHERE Email = 'a\qb'")
                .map(|_| ())
                .unwrap_err()
                .code,
            "MALFORMED_QUERY"
        );
        assert_eq!(
            p("SELECT Nope FROM Lead").map(|_| ()).unwrap_err().code,
            "INVALID_FIELD"
        );
        assert_eq!(
            p("SELECT Id FROM Nope").map(|_| ()).unwrap_err().code,
            "INVALID_TYPE"
        );
        assert_eq!(
            p("SELECT Id FROM Lead WHERE Email = 'a' AND Email = 'b' OR Email = 'c'")
                .map(|_| ())
                .unwrap_err()
                .code,
            "MALFORMED_QUERY"
        );
        assert_eq!(
            p("SELECT Id FROM Lead WHERE IsConverted = 'false'")
                .map(|_| ())
                .unwrap_err()
                .code,
            "INVALID_FIELD"
        );
        assert!(p("select id, EMAIL from lead where (Email = 'a' or Email = 'b') and IsConverted = false and WalkMe_Last_Login__c > 2024-01-01T00:00:00Z order by Email desc nulls last limit 10 offset 5").is_ok());
        assert!(
            p("SELECT COUNT() FROM Lead WHERE Email NOT IN ('a') AND Email LIKE '%x\\_y%'").is_ok()
        );
        assert!(p("SELECT Id FROM Lead WHERE WalkMe_Logins_Last_30_Days__c >= -3.5").is_ok());
    }

    #[test]
    fn like_matching() {
        assert!(like("%@EXAMPLE.com", "ann@example.com"));
        assert!(like("a_n%", "Ann"));
        assert!(!like("a\\_n", "ann"));
        assert!(like("a\\_n", "a_n"));
    }
}
