//! Request extractors that fail with our problem documents and name the field at fault:
//! `Json<T>` (content type, size limit, unknown fields, wrong types) and `Query<T>`.

use std::future::{Ready, ready};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::infra::error::ApiError;
use crate::infra::state::AppState;

/// Default body limit when no state is registered (tests of extractors alone).
const DEFAULT_LIMIT: usize = 256 * 1024;

/// Turns a serde error with its path into a bad-request naming the field.
fn field_error<E: std::fmt::Display>(err: serde_path_to_error::Error<E>) -> ApiError {
    let path = err.path().to_string();
    let message = err.inner().to_string();
    // serde_path_to_error's path already ends at an unknown field, but stops one level
    // above a missing one: name the missing field itself.
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
        .map(|name| {
            if path == "." || path.is_empty() {
                name.to_owned()
            } else {
                format!("{path}.{name}")
            }
        });
    let field = missing.unwrap_or_else(|| if path == "." { String::new() } else { path });
    let detail = match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message,
    };
    ApiError::BadRequest {
        field: (!field.is_empty()).then_some(field),
        detail,
    }
}

/// A body that is not JSON at all (cut short, or malformed) names no field: the path
/// serde reached when the text ended says nothing about what is wrong.
fn json_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    use serde_json::error::Category;
    match err.inner().classify() {
        Category::Eof => ApiError::BadRequest {
            field: None,
            detail: "the JSON body ends too soon: send the whole document".into(),
        },
        Category::Syntax => ApiError::BadRequest {
            field: None,
            detail: format!("the body is not valid JSON: {}", err.inner()),
        },
        Category::Data | Category::Io => field_error(err),
    }
}

/// A JSON body deserialised into `T`. Free text in it may hold no control characters
/// (`patrol_domain::text`, 422 naming the field). `TEXT_CHECKED = false` is for sync push
/// only: it checks each mutation's arguments itself, so that one bad mutation is one
/// rejection and not a refused batch.
pub struct Json<T, const TEXT_CHECKED: bool = true>(pub T);

impl<T, const TEXT_CHECKED: bool> Json<T, TEXT_CHECKED> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static, const TEXT_CHECKED: bool> FromRequest
    for Json<T, TEXT_CHECKED>
{
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.cfg.json_limit_bytes)
            .unwrap_or(DEFAULT_LIMIT);
        let content_type_ok = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let mime = v
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::BadRequest {
                    field: None,
                    detail: "send the body as JSON with Content-Type: application/json".into(),
                });
            }
            if declared.is_some_and(|n| n > limit) {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            let mut body = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| ApiError::BadRequest {
                    field: None,
                    detail: format!("the request body could not be read: {e}"),
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge { limit });
                }
                body.extend_from_slice(&chunk);
            }
            let mut de = serde_json::Deserializer::from_slice(&body);
            let value: T = serde_path_to_error::deserialize(&mut de).map_err(json_error)?;
            de.end().map_err(|e| ApiError::BadRequest {
                field: None,
                detail: format!("trailing data after the JSON document: {e}"),
            })?;
            if TEXT_CHECKED {
                let doc: serde_json::Value =
                    serde_json::from_slice(&body).map_err(ApiError::internal)?;
                patrol_domain::text::check_document(&doc)?;
            }
            Ok(Json(value))
        })
    }
}

/// Query parameters deserialised into `T`.
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parser = form_urlencoded_parse(req.query_string().as_bytes());
        let de = serde_urlencoded::Deserializer::new(parser);
        ready(
            serde_path_to_error::deserialize(de)
                .map(Query)
                .map_err(field_error),
        )
    }
}

fn form_urlencoded_parse(input: &[u8]) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        at: Inner,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        lat: f64,
    }

    fn err_field(json: &str) -> Option<String> {
        let mut de = serde_json::Deserializer::from_str(json);
        match serde_path_to_error::deserialize::<_, Body>(&mut de) {
            Ok(_) => None,
            Err(e) => match field_error(e) {
                ApiError::BadRequest { field, .. } => field,
                _ => None,
            },
        }
    }

    #[test]
    fn a_cut_short_or_malformed_body_names_no_field() {
        for json in [
            r#"{"name":"a","at":{"lat":1"#,
            r#"{"name":"a","at":{"lat":1,}}"#,
        ] {
            let mut de = serde_json::Deserializer::from_str(json);
            let err = serde_path_to_error::deserialize::<_, Body>(&mut de).unwrap_err();
            match json_error(err) {
                ApiError::BadRequest { field, detail } => {
                    assert_eq!(field, None, "{json}: {detail}");
                    assert!(detail.contains("JSON"), "{detail}");
                }
                other => panic!("{json}: {other:?}"),
            }
        }
    }

    #[test]
    fn errors_name_the_field_at_fault() {
        let cases = [
            (r#"{"name":"a","at":{"lat":"x"}}"#, Some("at.lat")),
            (r#"{"name":"a","at":{"lat":1},"extra":1}"#, Some("extra")),
            (r#"{"name":"a","at":{"lat":1,"lng":2}}"#, Some("at.lng")),
            (r#"{"name":"a"}"#, Some("at")),
        ];
        for (json, want) in cases {
            assert_eq!(err_field(json).as_deref(), want, "{json}");
        }
    }
}
