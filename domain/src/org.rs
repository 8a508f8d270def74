//! Rules for the organisation's records and accounts: codes, names, logins, phone
//! numbers, passwords. Each `parse_*` turns raw input into a checked value or a
//! [`DomainError::Invalid`] naming the field.

use crate::{DomainError, DomainResult};

/// Longest free-text name we accept (a community or category name, a person's name).
pub const MAX_NAME_CHARS: usize = 100;
/// Shortest password we accept; longer pass-phrases are encouraged, not forced.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Argon2 input beyond this is pointless and an easy way to burn CPU.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// A code identifies an organisation unit or list entry in URLs and imports:
/// 1-64 ASCII letters, digits, `-` or `_`.
pub fn parse_code(field: &str, raw: &str) -> DomainResult<String> {
    let ok = !raw.is_empty()
        && raw.len() <= 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(DomainError::invalid(
            field,
            "must be 1-64 characters of ASCII letters, digits, '-' or '_'",
        ))
    }
}

/// A display name: trimmed, not empty, at most [`MAX_NAME_CHARS`] characters, no control
/// characters.
pub fn parse_name(field: &str, raw: &str) -> DomainResult<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

/// A staff login: 3-64 characters of lowercase ASCII letters, digits, `.`, `-`, `_`.
/// Residents log in with their phone number, which also satisfies this rule.
pub fn parse_login(raw: &str) -> DomainResult<String> {
    let login = raw.trim().to_ascii_lowercase();
    let ok = (3..=64).contains(&login.len())
        && login
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok {
        Ok(login)
    } else {
        Err(DomainError::invalid(
            "login",
            "must be 3-64 characters of letters, digits, '.', '-' or '_'",
        ))
    }
}

/// A mainland-China mobile number (11 digits starting with 1[3-9]); an optional `+86`
/// or `86` prefix, spaces and dashes are removed.
pub fn parse_phone(field: &str, raw: &str) -> DomainResult<String> {
    let digits: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect::<String>();
    let digits = digits
        .strip_prefix("+86")
        .or_else(|| {
            if digits.len() == 13 {
                digits.strip_prefix("86")
            } else {
                None
            }
        })
        .unwrap_or(&digits);
    let bytes = digits.as_bytes();
    let ok = bytes.len() == 11
        && bytes[0] == b'1'
        && (b'3'..=b'9').contains(&bytes[1])
        && bytes.iter().all(u8::is_ascii_digit);
    if ok {
        Ok(digits.to_owned())
    } else {
        Err(DomainError::invalid(
            field,
            "must be an 11-digit mainland mobile number, e.g. 13912345678",
        ))
    }
}

/// Masks a phone number for staff without the permission to see it: `139****5678`.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

/// Checks a new password's length. Strength beyond length is the user's business; a
/// length cap keeps hashing cost bounded.
pub fn check_password(raw: &str) -> DomainResult<()> {
    let n = raw.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(DomainError::invalid(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(DomainError::invalid(
            "password",
            format!("must be at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_accept_ascii_and_reject_the_rest() {
        for ok in ["630102", "630102-01-03", "garbage_pile"] {
            assert_eq!(parse_code("code", ok).as_deref(), Ok(ok));
        }
        for bad in ["", "a b", "东关", &"x".repeat(65)] {
            assert!(parse_code("code", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("name", "  东关社区 ").as_deref(), Ok("东关社区"));
        assert!(parse_name("name", "   ").is_err());
        assert!(parse_name("name", &"名".repeat(101)).is_err());
        assert!(parse_name("name", "a\u{0}b").is_err());
    }

    #[test]
    fn phones_are_normalised_or_rejected() {
        let cases = [
            ("13912345678", Some("13912345678")),
            ("+86 139-1234-5678", Some("13912345678")),
            ("8613912345678", Some("13912345678")),
            ("12912345678", None),
            ("1391234567", None),
            ("1391234567x", None),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_phone("phone", raw).ok().as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn masked_phone_keeps_only_head_and_tail() {
        assert_eq!(mask_phone("13912345678"), "139****5678");
        assert_eq!(mask_phone("123"), "***");
    }

    #[test]
    fn logins_are_lowercased_and_checked() {
        assert_eq!(parse_login(" Officer.Li ").as_deref(), Ok("officer.li"));
        assert!(parse_login("ab").is_err());
        assert!(parse_login("li wei").is_err());
    }

    #[test]
    fn passwords_must_be_between_8_and_128_chars() {
        assert!(check_password("short").is_err());
        assert!(check_password("long enough").is_ok());
        assert!(check_password(&"x".repeat(129)).is_err());
    }
}
