//! What free text may hold. Control characters (NUL, escape sequences, the C1 block)
//! have no place in a description, a note or a name: they break displays and exports,
//! and PostgreSQL refuses NUL outright. Tabs and line breaks are text.

use serde_json::Value;

use crate::DomainError;

/// A character free text may not contain.
pub fn is_forbidden(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Refuses a document with a control character in any string or key, naming where it is
/// (`description`, `fixes[2].note`).
pub fn check_document(v: &Value) -> Result<(), DomainError> {
    match find(v) {
        None => Ok(()),
        Some(path) => Err(DomainError::invalid(
            path,
            "must not contain control characters (only tabs and line breaks)",
        )),
    }
}

/// Trims a text field and checks its length (in characters); errors name the field.
pub fn bounded(field: &str, raw: &str, max: usize, required: bool) -> Result<String, DomainError> {
    let text = raw.trim();
    if required && text.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    if text.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(text.to_owned())
}

/// The path of the first string holding a forbidden character.
fn find(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => s.chars().any(is_forbidden).then(String::new),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find(item).map(|rest| format!("[{i}]{}", dotted(&rest)))),
        Value::Object(map) => map.iter().find_map(|(k, item)| {
            if k.chars().any(is_forbidden) {
                return Some(k.escape_default().to_string());
            }
            find(item).map(|rest| format!("{k}{}", dotted(&rest)))
        }),
        _ => None,
    }
}

fn dotted(rest: &str) -> String {
    if rest.is_empty() || rest.starts_with('[') {
        rest.to_owned()
    } else {
        format!(".{rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(v: Value) -> Option<String> {
        match check_document(&v) {
            Ok(()) => None,
            Err(DomainError::Invalid { field, .. }) => Some(field),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn text_with_tabs_and_line_breaks_passes() {
        assert_eq!(
            field(json!({"body": "第一行\n第二行\r\n\t缩进", "n": 3})),
            None
        );
    }

    #[test]
    fn a_control_character_is_refused_where_it_is() {
        assert_eq!(
            field(json!({"description": "a\u{0}b"})).as_deref(),
            Some("description")
        );
        assert_eq!(
            field(json!({"fixes": [{"at": "x"}, {"note": "\u{1b}[31m"}]})).as_deref(),
            Some("fixes[1].note")
        );
        assert_eq!(field(json!(["ok", "\u{85}"])).as_deref(), Some("[1]"));
        assert_eq!(field(json!("\u{7f}")).as_deref(), Some(""));
    }

    #[test]
    fn the_forbidden_set_is_c0_c1_and_delete_but_tab_and_line_breaks() {
        let forbidden: Vec<u32> = (0u32..0x110000)
            .filter_map(char::from_u32)
            .filter(|c| field(json!({ "t": format!("x{c}y") })).is_some())
            .map(u32::from)
            .collect();
        let expected: Vec<u32> = (0..0x20)
            .filter(|c| ![0x09, 0x0a, 0x0d].contains(c))
            .chain(0x7f..0xa0)
            .collect();
        assert_eq!(forbidden, expected);
    }
}
