//! The broker's jars, resolved from Maven Central with `mvn
//! dependency:copy-dependencies` (the pom is `rig/kafka/pom.xml`), and a storage
//! directory formatted once by Kafka's own `StorageTool`, which every broker copies
//! instead of starting a JVM to format its own. Both live in a per-machine cache
//! folder named after the pom's hash, so editing the pom resolves again.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::command;
use crate::RigError;

/// The Apache Kafka version of `rig/kafka/pom.xml`.
pub const KAFKA_VERSION: &str = "4.1.1";

/// The pom, compiled in: installing needs no checkout.
const POM: &str = include_str!("../kafka/pom.xml");

/// The cluster id every rig broker carries (a `StorageTool random-uuid` output;
/// each broker is a cluster of its own, so they may share it).
pub const CLUSTER_ID: &str = "J4Uq6llmQIWvRAWPESfPdw";

/// Overrides where the jars and the storage template live.
pub const HOME_ENV: &str = "ALPHA_PANDA_KAFKA_HOME";

/// An installed broker: `libs/` (every jar) and `storage/` (a formatted template).
#[derive(Debug, Clone)]
pub struct KafkaDist {
    home: PathBuf,
}

impl KafkaDist {
    /// Where this pom's broker is (or will be) installed: `$ALPHA_PANDA_KAFKA_HOME`,
    /// else `$XDG_CACHE_HOME/alpha-panda/kafka-VERSION-HASH` (`~/.cache` by default).
    pub fn default_home() -> PathBuf {
        if let Some(h) = std::env::var_os(HOME_ENV).filter(|h| !h.is_empty()) {
            return PathBuf::from(h);
        }
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .filter(|c| !c.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        cache.join("alpha-panda").join(format!(
            "kafka-{KAFKA_VERSION}-{:016x}",
            fnv1a(POM.as_bytes())
        ))
    }

    /// The installed broker at the default home, or an error saying how to install it.
    pub fn locate() -> Result<KafkaDist, RigError> {
        Self::at(&Self::default_home())
    }

    /// The installed broker at `home`.
    pub fn at(home: &Path) -> Result<KafkaDist, RigError> {
        let dist = KafkaDist {
            home: home.to_path_buf(),
        };
        if dist.libs().is_dir() && dist.storage_template().join("meta.properties").is_file() {
            Ok(dist)
        } else {
            Err(RigError::NotInstalled {
                dir: home.to_path_buf(),
            })
        }
    }

    /// Installs the broker at `home` unless it is there: resolves the jars with
    /// Maven and formats the storage template, in a side folder renamed into place
    /// at the end, so a failure leaves nothing half-installed. Returns whether it
    /// installed (false: it was already there).
    pub fn install(home: &Path) -> Result<(KafkaDist, bool), RigError> {
        Self::install_pom(home, POM)
    }

    fn install_pom(home: &Path, pom: &str) -> Result<(KafkaDist, bool), RigError> {
        if let Ok(d) = Self::at(home) {
            return Ok((d, false));
        }
        let parent = home.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent)
            .map_err(|e| RigError::io("create the cache folder", parent, e))?;
        let side = parent.join(format!(
            ".{}.partial-{}",
            home.file_name().and_then(|n| n.to_str()).unwrap_or("kafka"),
            std::process::id()
        ));
        let result = Self::install_into(&side, pom).and_then(|()| {
            if home.exists() {
                std::fs::remove_dir_all(home)
                    .map_err(|e| RigError::io("remove an incomplete install", home, e))?;
            }
            std::fs::rename(&side, home).map_err(|e| RigError::io("install into", home, e))
        });
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&side);
        }
        result?;
        Ok((Self::at(home)?, true))
    }

    /// Resolves `pom`'s jars into `dir/libs` and formats `dir/storage`.
    fn install_into(dir: &Path, pom: &str) -> Result<(), RigError> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).map_err(|e| RigError::io("create", dir, e))?;
        let pom_path = dir.join("pom.xml");
        std::fs::write(&pom_path, pom).map_err(|e| RigError::io("write", &pom_path, e))?;
        let libs = dir.join("libs");
        command::run(
            Command::new("mvn")
                .args(["-B", "-q", "-f"])
                .arg(&pom_path)
                .arg("dependency:copy-dependencies")
                .arg(format!("-DoutputDirectory={}", libs.display()))
                .arg("-DincludeScope=runtime"),
        )?;
        let storage = dir.join("storage");
        let props = dir.join("format.properties");
        let text = crate::broker::server_properties(&storage, 9092, 9093);
        std::fs::write(&props, text).map_err(|e| RigError::io("write", &props, e))?;
        command::run(
            Command::new(java())
                .arg("-cp")
                .arg(classpath(&libs))
                .args(["kafka.tools.StorageTool", "format", "-t", CLUSTER_ID, "-c"])
                .arg(&props),
        )?;
        Ok(())
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The folder of every jar the broker needs.
    pub fn libs(&self) -> PathBuf {
        self.home.join("libs")
    }

    /// A formatted, empty storage folder (`meta.properties`, `bootstrap.checkpoint`).
    pub fn storage_template(&self) -> PathBuf {
        self.home.join("storage")
    }

    /// The `-cp` argument: every jar of `libs/`.
    pub fn classpath(&self) -> String {
        classpath(&self.libs())
    }
}

fn classpath(libs: &Path) -> String {
    format!("{}/*", libs.display())
}

/// `$JAVA_HOME/bin/java`, else `java` from the PATH.
pub fn java() -> PathBuf {
    std::env::var_os("JAVA_HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join("bin/java"))
        .filter(|j| j.is_file())
        .unwrap_or_else(|| PathBuf::from("java"))
}

/// FNV-1a, 64 bits: a stable name for the pom's content.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_constant_is_the_poms() {
        assert!(
            POM.contains(&format!(
                "<artifactId>kafka_2.13</artifactId>\n      <version>{KAFKA_VERSION}</version>"
            )),
            "rig/kafka/pom.xml asks for kafka_2.13 {KAFKA_VERSION}"
        );
    }

    #[test]
    fn the_home_is_named_after_the_version_and_the_poms_hash() {
        let home = KafkaDist::default_home();
        if std::env::var_os(HOME_ENV).is_none() {
            let name = home
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            assert!(
                name.starts_with(&format!("kafka-{KAFKA_VERSION}-")),
                "{name}"
            );
            assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
        }
    }

    #[test]
    fn a_missing_install_says_how_to_install() {
        let dir = std::env::temp_dir().join(format!("rig-missing-{}", std::process::id()));
        let e = KafkaDist::at(&dir).expect_err("nothing there");
        assert!(e.to_string().contains("cargo xtask setup"), "{e}");
    }

    /// A pom Maven cannot resolve stops the install with the mvn command and its
    /// output, and leaves neither the home nor the side folder behind.
    #[test]
    fn a_maven_failure_names_the_command_and_leaves_nothing_behind() {
        let base = std::env::temp_dir().join(format!("rig-badpom-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let home = base.join("kafka-home");
        let pom = POM.replace(
            "<groupId>org.apache.kafka</groupId>\n      <artifactId>kafka_2.13</artifactId>",
            "<groupId>alpha-panda.missing</groupId>\n      <artifactId>no-such-artifact</artifactId>",
        );
        assert_ne!(pom, POM, "the test pom differs");
        let e = KafkaDist::install_pom(&home, &pom).expect_err("unresolvable");
        let text = e.to_string();
        assert!(text.contains("`mvn -B -q -f "), "names the command: {text}");
        assert!(text.contains("dependency:copy-dependencies"), "{text}");
        assert!(
            text.contains("no-such-artifact"),
            "keeps Maven's reason: {text}"
        );
        let left: Vec<_> = std::fs::read_dir(&base)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "nothing half-installed: {left:?}");
        let _ = std::fs::remove_dir_all(&base);
    }
}
