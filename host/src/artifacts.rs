//! Model and data artifacts: the read-only files a manifest names under
//! `[artifacts]` (`model = "models/momentum.json"`), read once per load, checked
//! against a size cap and the allow-list, hashed, and handed to the strategy's
//! `init` as bytes. Their hashes go into every signal beside the plugin's.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

/// Metadata key prefix of an artifact's sha256 in each signal: `artifact_sha256.model`.
pub const ARTIFACT_HASH_KEY_PREFIX: &str = "artifact_sha256.";

/// What an artifact must satisfy to be loaded.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// An artifact file larger than this is refused.
    pub max_bytes: u64,
    /// If not empty, only files whose sha256 (hex, lower case) is listed load: the
    /// same list (`plugins.allowed_sha256`) that approves components.
    pub allowed_sha256: Arc<Vec<String>>,
}

/// One loaded artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Its name under `[artifacts]`.
    pub name: String,
    /// Hex sha256 of `bytes`.
    pub sha256: String,
    pub bytes: Arc<[u8]>,
}

/// The artifacts of one plugin version, sorted by name (cheap to clone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Artifacts(Arc<Vec<Artifact>>);

impl Artifacts {
    pub fn iter(&self) -> impl Iterator<Item = &Artifact> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `(artifact_sha256.NAME, sha256)` for each artifact: the signal metadata.
    pub fn hash_tags(&self) -> impl Iterator<Item = (String, &str)> {
        self.0.iter().map(|a| {
            (
                format!("{ARTIFACT_HASH_KEY_PREFIX}{}", a.name),
                a.sha256.as_str(),
            )
        })
    }
}

/// Why an artifact was refused; names the artifact and its file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArtifactError {
    #[error("artifact `{name}`: cannot read {}: {message}", path.display())]
    Read {
        name: String,
        path: PathBuf,
        message: String,
    },
    #[error("artifact `{name}`: {} is {size} bytes, more than the limit of {max} (plugins.max_artifact_bytes)", path.display())]
    TooLarge {
        name: String,
        path: PathBuf,
        size: u64,
        max: u64,
    },
    #[error("artifact `{name}`: {} has sha256 {sha256}, which is not in plugins.allowed_sha256", path.display())]
    NotAllowed {
        name: String,
        path: PathBuf,
        sha256: String,
    },
}

/// Checks an artifact's name: 1-64 letters, digits, `_`, `-`.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "artifact name `{name}` must be 1-64 letters, digits, `_` or `-`"
        ))
    }
}

/// Checks an artifact's path: relative to the manifest's folder and inside it (no
/// `..`, no root), so a manifest cannot hand a strategy any file of the machine.
pub fn check_path(path: &str) -> Result<(), String> {
    let p = Path::new(path);
    let inside = !path.is_empty()
        && p.components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        && p.components().any(|c| matches!(c, Component::Normal(_)));
    if inside {
        Ok(())
    } else {
        Err(format!(
            "`{path}` must be a relative path inside the plugins folder (no `..`, not absolute)"
        ))
    }
}

/// Reads every declared artifact (`name → path relative to base`), all or none.
pub fn load(
    base: &Path,
    declared: &BTreeMap<String, String>,
    policy: &Policy,
) -> Result<Artifacts, ArtifactError> {
    let mut out = Vec::with_capacity(declared.len());
    for (name, rel) in declared {
        out.push(load_one(name, &base.join(rel), policy)?);
    }
    Ok(Artifacts(Arc::new(out)))
}

fn load_one(name: &str, path: &Path, policy: &Policy) -> Result<Artifact, ArtifactError> {
    let read_err = |e: std::io::Error| ArtifactError::Read {
        name: name.to_owned(),
        path: path.to_owned(),
        message: e.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if !meta.is_file() {
        return Err(read_err(std::io::Error::other("not a file")));
    }
    let too_large = |size: u64| ArtifactError::TooLarge {
        name: name.to_owned(),
        path: path.to_owned(),
        size,
        max: policy.max_bytes,
    };
    if meta.len() > policy.max_bytes {
        return Err(too_large(meta.len()));
    }
    let bytes = std::fs::read(path).map_err(read_err)?;
    // The file may have grown between the two reads.
    if bytes.len() as u64 > policy.max_bytes {
        return Err(too_large(bytes.len() as u64));
    }
    let sha256 = hex::encode(Sha256::digest(&bytes));
    if !policy.allowed_sha256.is_empty() && !policy.allowed_sha256.contains(&sha256) {
        return Err(ArtifactError::NotAllowed {
            name: name.to_owned(),
            path: path.to_owned(),
            sha256,
        });
    }
    Ok(Artifact {
        name: name.to_owned(),
        sha256,
        bytes: bytes.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_bytes: u64, allowed: &[&str]) -> Policy {
        Policy {
            max_bytes,
            allowed_sha256: Arc::new(allowed.iter().map(|s| s.to_string()).collect()),
        }
    }

    fn declared(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_hashes_and_sorts_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("models")).unwrap();
        std::fs::write(dir.path().join("models/m.json"), b"{\"w\":[1]}").unwrap();
        std::fs::write(dir.path().join("cal.csv"), b"2026-12-25").unwrap();
        let a = load(
            dir.path(),
            &declared(&[("model", "models/m.json"), ("calendar", "cal.csv")]),
            &policy(1024, &[]),
        )
        .unwrap();
        let names: Vec<&str> = a.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["calendar", "model"]);
        let model = a.iter().find(|x| x.name == "model").unwrap();
        assert_eq!(&*model.bytes, b"{\"w\":[1]}");
        assert_eq!(model.sha256, hex::encode(Sha256::digest(b"{\"w\":[1]}")));
        let tags: Vec<(String, &str)> = a.hash_tags().collect();
        assert_eq!(tags[1].0, "artifact_sha256.model");
        assert_eq!(tags[1].1, model.sha256);
    }

    #[test]
    fn a_missing_file_names_the_artifact_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(
            dir.path(),
            &declared(&[("model", "models/gone.json")]),
            &policy(1024, &[]),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ArtifactError::Read { .. }), "{msg}");
        assert!(
            msg.contains("artifact `model`") && msg.contains("models/gone.json"),
            "{msg}"
        );
    }

    #[test]
    fn a_folder_is_not_an_artifact() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("models")).unwrap();
        let err = load(
            dir.path(),
            &declared(&[("m", "models")]),
            &policy(1024, &[]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("not a file"), "{err}");
    }

    #[test]
    fn a_file_over_the_cap_is_refused_with_both_sizes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big.bin"), vec![7u8; 2048]).unwrap();
        let err = load(
            dir.path(),
            &declared(&[("big", "big.bin")]),
            &policy(1024, &[]),
        )
        .unwrap_err();
        assert_eq!(
            err,
            ArtifactError::TooLarge {
                name: "big".into(),
                path: dir.path().join("big.bin"),
                size: 2048,
                max: 1024
            }
        );
        assert!(err.to_string().contains("plugins.max_artifact_bytes"));
    }

    #[test]
    fn with_an_allow_list_only_listed_content_loads() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.json"), b"[1,2]").unwrap();
        let sha = hex::encode(Sha256::digest(b"[1,2]"));
        let ok = load(
            dir.path(),
            &declared(&[("m", "m.json")]),
            &policy(64, &[&sha]),
        );
        assert!(ok.is_ok());
        let err = load(
            dir.path(),
            &declared(&[("m", "m.json")]),
            &policy(64, &["00"]),
        )
        .unwrap_err();
        assert!(matches!(&err, ArtifactError::NotAllowed { sha256, .. } if *sha256 == sha));
        assert!(err.to_string().contains(&sha), "{err}");
    }

    #[test]
    fn names_and_paths_are_checked() {
        assert!(check_name("model_v2").is_ok());
        for bad in ["", "a.b", "a b", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_path("models/m.json").is_ok());
        assert!(check_path("./m.json").is_ok());
        for bad in ["", "/etc/passwd", "../secrets.json", "models/../../x", "."] {
            let err = check_path(bad).unwrap_err();
            assert!(err.contains("inside the plugins folder"), "{bad:?}: {err}");
        }
    }
}
