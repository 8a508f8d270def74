//! The contract check: every answer must be documented in `openapi.yaml` for its
//! operation and status, and its body must validate against the documented schema.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, LazyLock, Mutex};

use serde_json::{Value, json};

/// The OpenAPI document as the server serves it.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

pub struct Contract {
    doc: Value,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

static SHARED: LazyLock<Arc<Contract>> = LazyLock::new(|| Arc::new(Contract::load()));

impl Contract {
    pub fn shared() -> Arc<Contract> {
        SHARED.clone()
    }

    fn load() -> Contract {
        let doc: Value = serde_yaml::from_str(OPENAPI_YAML).expect("openapi.yaml parses");
        Contract {
            doc,
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// Every (METHOD, path template) the document describes.
    pub fn operations(&self) -> BTreeSet<(String, String)> {
        let mut ops = BTreeSet::new();
        if let Some(paths) = self.doc["paths"].as_object() {
            for (path, item) in paths {
                for method in ["get", "post", "put", "patch", "delete", "head"] {
                    if item.get(method).is_some() {
                        ops.insert((method.to_uppercase(), path.clone()));
                    }
                }
            }
        }
        ops
    }

    pub fn doc(&self) -> &Value {
        &self.doc
    }

    /// The path template a concrete path matches; literal segments beat parameters.
    pub fn template_for(&self, method: &str, path: &str) -> Option<String> {
        let path = path.split('?').next().unwrap_or(path);
        let segs: Vec<&str> = path.split('/').collect();
        let paths = self.doc["paths"].as_object()?;
        let mut best: Option<(usize, String)> = None;
        for (tpl, item) in paths {
            if item.get(method.to_lowercase()).is_none() {
                continue;
            }
            let tsegs: Vec<&str> = tpl.split('/').collect();
            if tsegs.len() != segs.len() {
                continue;
            }
            let mut literal = 0;
            let ok = tsegs.iter().zip(&segs).all(|(t, s)| {
                if t.starts_with('{') && t.ends_with('}') {
                    !s.is_empty()
                } else {
                    literal += 1;
                    t == s
                }
            });
            if ok && best.as_ref().is_none_or(|(n, _)| literal > *n) {
                best = Some((literal, tpl.clone()));
            }
        }
        best.map(|(_, t)| t)
    }

    fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let ptr = r.trim_start_matches('#');
                self.doc.pointer(ptr).unwrap_or(&Value::Null)
            }
            None => v,
        }
    }

    /// Checks one answer. Unknown paths (the 404 fallback) must still be problem documents.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: &str,
        body: &Value,
    ) -> Result<(), String> {
        let Some(tpl) = self.template_for(method, path) else {
            if status == 404 || status == 405 {
                return self
                    .validate_named("Problem", body)
                    .map_err(|e| format!("{method} {path} {status}: {e}"));
            }
            return Err(format!(
                "{method} {path} answered {status} but no operation in openapi.yaml matches"
            ));
        };
        let op = &self.doc["paths"][&tpl][method.to_lowercase()];
        let responses = &op["responses"];
        let response = responses
            .get(status.to_string())
            .or_else(|| responses.get("default"))
            .ok_or_else(|| format!("{method} {tpl}: status {status} is not documented"))?;
        let response = self.resolve(response);
        let media = content_type.split(';').next().unwrap_or("").trim();
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            return if body.is_null() {
                Ok(())
            } else {
                Err(format!(
                    "{method} {tpl} {status}: documented without a body but got {body}"
                ))
            };
        };
        let Some(media_obj) = content.get(media) else {
            return Err(format!(
                "{method} {tpl} {status}: content type {media:?} not documented (have {:?})",
                content.keys().collect::<Vec<_>>()
            ));
        };
        if !media.contains("json") {
            return Ok(());
        }
        let schema = &media_obj["schema"];
        let key = format!("{method} {tpl} {status} {media}");
        let validator = self.validator(&key, schema)?;
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{key}: body {body} does not match: {}",
                errors.join("; ")
            ))
        }
    }

    fn validate_named(&self, name: &str, body: &Value) -> Result<(), String> {
        let schema = json!({ "$ref": format!("#/components/schemas/{name}") });
        let v = self.validator(name, &schema)?;
        let errors: Vec<String> = v.iter_errors(body).map(|e| e.to_string()).collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    fn validator(&self, key: &str, schema: &Value) -> Result<Arc<jsonschema::Validator>, String> {
        let mut cache = self.validators.lock().map_err(|_| "poisoned".to_owned())?;
        if let Some(v) = cache.get(key) {
            return Ok(v.clone());
        }
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.doc["components"],
            "allOf": [schema],
        });
        // Formats (uuid, date, date-time) are asserted, not just annotations: an id or a
        // time the server writes must be what the contract says it is.
        let v = Arc::new(
            jsonschema::options()
                .should_validate_formats(true)
                .build(&root)
                .map_err(|e| format!("schema for {key}: {e}"))?,
        );
        cache.insert(key.to_owned(), v.clone());
        Ok(v)
    }
}
