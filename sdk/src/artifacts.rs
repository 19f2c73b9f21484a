//! `Artifacts`: the read-only files the manifest names under `[artifacts]` (a model's
//! coefficients, a calendar), handed to `init` as bytes, read as bytes, text or JSON.

use std::collections::BTreeMap;

use crate::ParamError;

/// One artifact: its bytes and their sha256 (hex), as the host read them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Artifact {
    pub sha256: String,
    pub data: Vec<u8>,
}

/// The strategy's artifacts by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Artifacts(BTreeMap<String, Artifact>);

impl Artifacts {
    /// Adds (or replaces) artifact `name`; for tests that build an [`InitContext`](crate::InitContext).
    pub fn insert(&mut self, name: impl Into<String>, sha256: impl Into<String>, data: Vec<u8>) {
        self.0.insert(
            name.into(),
            Artifact {
                sha256: sha256.into(),
                data,
            },
        );
    }

    /// Artifact `name`; the error lists the names the manifest gave.
    pub fn get(&self, name: &str) -> Result<&Artifact, ParamError> {
        self.0.get(name).ok_or_else(|| {
            let names: Vec<&str> = self.0.keys().map(String::as_str).collect();
            ParamError::general(format!(
                "artifact `{name}` is not in the manifest's [artifacts] (it names: [{}])",
                names.join(", ")
            ))
        })
    }

    /// The bytes of artifact `name`.
    pub fn bytes(&self, name: &str) -> Result<&[u8], ParamError> {
        Ok(&self.get(name)?.data)
    }

    /// Artifact `name` as UTF-8 text.
    pub fn text(&self, name: &str) -> Result<&str, ParamError> {
        std::str::from_utf8(self.bytes(name)?)
            .map_err(|e| ParamError::general(format!("artifact `{name}` is not UTF-8 text: {e}")))
    }

    /// Artifact `name` parsed from JSON into `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, ParamError> {
        serde_json::from_slice(self.bytes(name)?).map_err(|e| {
            ParamError::general(format!(
                "artifact `{name}` is not valid JSON for this strategy: {e}"
            ))
        })
    }

    /// Names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_model(data: &[u8]) -> Artifacts {
        let mut a = Artifacts::default();
        a.insert("model", "ab12", data.to_vec());
        a
    }

    #[test]
    fn reads_bytes_text_and_json() {
        let a = with_model(br#"{"bias": -0.5, "weights": [1.0, 2.0]}"#);
        assert_eq!(a.get("model").unwrap().sha256, "ab12");
        assert!(a.text("model").unwrap().starts_with('{'));
        let v: serde_json::Value = a.json("model").unwrap();
        assert_eq!(v["bias"], -0.5);
        assert_eq!(a.names().collect::<Vec<_>>(), ["model"]);
    }

    #[test]
    fn errors_name_the_artifact() {
        let a = with_model(b"\xff\xfe");
        let e = a.bytes("calendar").unwrap_err().to_string();
        assert_eq!(
            e,
            "artifact `calendar` is not in the manifest's [artifacts] (it names: [model])"
        );
        let e = a.text("model").unwrap_err().to_string();
        assert!(e.starts_with("artifact `model` is not UTF-8 text"), "{e}");
        let e = with_model(b"{")
            .json::<serde_json::Value>("model")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("artifact `model` is not valid JSON"), "{e}");
    }
}
