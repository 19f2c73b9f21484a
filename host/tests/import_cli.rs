//! `alpha-panda import strategies --postgres URL` against a real PostgreSQL (the
//! test command's set-up starts one; `ALPHA_PANDA_TEST_POSTGRES` points elsewhere):
//! active rows become manifests the host loads, each bad row is listed with its
//! reason and writes nothing, and an unreachable database or a table without the
//! expected columns is one clear error that writes nothing.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_alpha-panda");

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn base_url() -> String {
    std::env::var("ALPHA_PANDA_TEST_POSTGRES").unwrap_or_else(|_| {
        "postgres://alpha_panda:alpha_panda@127.0.0.1:5432/alpha_panda".to_owned()
    })
}

/// A fresh schema holding `ddl` and `rows`, and the URL that sees it first.
struct Schema {
    name: String,
}

impl Schema {
    fn new(ddl: &str, inserts: &[&str]) -> Schema {
        let name = alpha_panda_tests::unique("import").replace('-', "_");
        let mut c = postgres::Client::connect(&base_url(), postgres::NoTls)
            .expect("PostgreSQL (the test command's set-up starts it)");
        c.batch_execute(&format!(
            "CREATE SCHEMA {name}; SET search_path TO {name}; {ddl}"
        ))
        .expect("schema and table");
        for row in inserts {
            c.batch_execute(&format!(
                "SET search_path TO {name}; INSERT INTO strategy_configurations VALUES {row}"
            ))
            .expect("row");
        }
        Schema { name }
    }

    fn url(&self) -> String {
        let sep = if base_url().contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", base_url(), self.name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&base_url(), postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name));
        }
    }
}

const TABLE: &str = "CREATE TABLE strategy_configurations (
    id varchar PRIMARY KEY, strategy_type varchar NOT NULL, instruments text,
    parameters text, is_active boolean NOT NULL, zerodha_trading_enabled boolean NOT NULL,
    use_composition boolean NOT NULL DEFAULT true)";

fn import(url: &str, out: &Path, extra: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(root())
        .args(["import", "strategies", "--postgres", url, "--out"])
        .arg(out)
        .args(extra)
        .output()
        .expect("runs")
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn active_rows_become_manifests_and_bad_rows_are_listed_with_their_reason() {
    let schema = Schema::new(
        TABLE,
        &[
            r#"('mom_paper', 'momentum', '[738561, 81153]', '{"lookback": 10, "threshold": 0.02, "position_size": 5}', true, false)"#,
            r#"('mr_zerodha', 'mean_reversion', '[2714625]', '{}', true, true)"#,
            r#"('asleep', 'momentum', '[738561]', '{}', false, false)"#,
            r#"('magic', 'ml_magic', '[738561]', '{}', true, false)"#,
            r#"('nothing', 'momentum', '[]', '{}', true, false)"#,
            r#"('bad_param', 'momentum', '[738561]', '{"lookback": "ten"}', true, false)"#,
            r#"('broken', 'momentum', '[738561,', '{}', true, false)"#,
        ],
    );
    let out = tempfile::tempdir().unwrap();
    let o = import(&schema.url(), out.path(), &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "some rows are refused: {t}");
    assert!(t.contains("imported 2 strategy(ies), refused 4"), "{t}");
    for (id, why) in [
        ("magic", "no plugin for strategy_type \"ml_magic\""),
        ("nothing", "instruments is empty"),
        ("bad_param", "lookback"),
        ("broken", "instruments is not a JSON list of tokens"),
    ] {
        assert!(
            t.lines()
                .any(|l| l.contains(&format!("row {id} refused:")) && l.contains(why)),
            "{id}: {why} in\n{t}"
        );
    }
    assert_eq!(
        files(out.path()),
        [
            "mom_paper.toml",
            "mom_paper.wasm",
            "mr_zerodha.toml",
            "mr_zerodha.wasm"
        ],
        "the refused and the inactive rows write nothing"
    );
    let m = std::fs::read_to_string(out.path().join("mr_zerodha.toml")).unwrap();
    assert!(m.contains("brokers = [\"zerodha\"]"), "{m}");
    let m = std::fs::read_to_string(out.path().join("mom_paper.toml")).unwrap();
    assert!(
        m.contains("brokers = [\"paper\"]") && m.contains("lookback = 10"),
        "{m}"
    );
    // What was written is what the host loads.
    let check = Command::new(BIN)
        .current_dir(root())
        .args(["plugin", "check"])
        .arg(out.path().join("mom_paper.wasm"))
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check));
    assert!(
        text(&check).contains("strategy `mom_paper`"),
        "{}",
        text(&check)
    );

    // A types file maps the unknown type to a plugin.
    let types = out.path().join("types.toml");
    std::fs::write(&types, "[types]\nml_magic = \"momentum\"\n").unwrap();
    let again = tempfile::tempdir().unwrap();
    let o = import(
        &schema.url(),
        again.path(),
        &["--types", types.to_str().unwrap()],
    );
    assert!(
        files(again.path()).contains(&"magic.toml".to_owned()),
        "{}",
        text(&o)
    );
}

#[test]
fn an_unreachable_database_or_a_wrong_table_is_one_clear_error_writing_nothing() {
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("plugins");
    let o = import(
        "postgres://alpha_panda:s3cret@127.0.0.1:1/alpha_panda",
        &target,
        &[],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("cannot connect to PostgreSQL at postgres://alpha_panda:***@127.0.0.1:1"),
        "{t}"
    );
    assert!(!t.contains("s3cret"), "the password is never printed: {t}");
    assert!(!target.exists(), "nothing written");

    let schema = Schema::new(
        "CREATE TABLE strategy_configurations (id varchar, strategy_type varchar, \
         instruments text, parameters text, is_active boolean)",
        &[r#"('m', 'momentum', '[738561]', '{}', true)"#],
    );
    let o = import(&schema.url(), &target, &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("strategy_configurations") && t.contains("zerodha_trading_enabled"),
        "names the missing column: {t}"
    );
    assert!(!target.exists(), "nothing written");

    let bad_types = out.path().join("types.toml");
    std::fs::write(&bad_types, "[types]\nml = 3\n").unwrap();
    let o = import(
        &schema.url(),
        &target,
        &["--types", bad_types.to_str().unwrap()],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "a bad types file is a usage error: {}",
        text(&o)
    );
    assert!(text(&o).contains("types.toml"), "{}", text(&o));
    assert!(!target.exists(), "nothing written");
}
