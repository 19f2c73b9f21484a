//! Model and data artifacts (`[artifacts]` in a manifest): the ML sample signals
//! exactly as the same computation done natively, with the artifact's hash in each
//! signal; changing an artifact reloads the strategy with its state; a missing,
//! oversized, malformed or unapproved artifact is refused with the reason while the
//! running version keeps running; on a real broker a model change mid-stream loses
//! no tick.

mod common;
mod pipeline_support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alpha_panda::config::Config;
use alpha_panda::contract::{BrokerNamespace, EventEnvelope, MarketTick, TradingSignal};
use alpha_panda::registry::watcher::PluginWatcher;
use alpha_panda::registry::{load_plugin, PluginFiles};
use alpha_panda::replay::{load_strategies, replay};
use alpha_panda::strategy::{Lifecycle, LiveStrategies, SetOutput, SlotConfig, StrategySet};
use alpha_panda::wasm::{EngineLimits, StrategyEngine};
use alpha_panda_tests::paths;
use sha2::{Digest, Sha256};

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `plugins/` under `dir` with the logistic sample and its model, as shipped.
fn logistic_sample(dir: &Path) -> PathBuf {
    let plugins = paths::copy_samples(&["logistic"], dir);
    std::fs::create_dir_all(plugins.join("models")).unwrap();
    std::fs::copy(
        paths::sample_plugins().join("models/logistic.json"),
        plugins.join("models/logistic.json"),
    )
    .unwrap();
    plugins
}

/// The model file, parsed the way a native implementation would.
struct NativeModel {
    version: String,
    lookbacks: Vec<usize>,
    weights: Vec<f64>,
    bias: f64,
    buy_above: f64,
    sell_below: f64,
}

impl NativeModel {
    fn read(path: &Path) -> NativeModel {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let floats = |k: &str| -> Vec<f64> {
            v[k].as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        };
        NativeModel {
            version: v["version"].as_str().unwrap().to_owned(),
            lookbacks: floats("lookbacks").iter().map(|&k| k as usize).collect(),
            weights: floats("weights"),
            bias: v["bias"].as_f64().unwrap(),
            buy_above: v["buy_above"].as_f64().unwrap(),
            sell_below: v["sell_below"].as_f64().unwrap(),
        }
    }
}

/// What a signal decided, with the metadata that carries the model's output.
type Decision = (
    u32,
    String,
    u64,
    Option<String>,
    Option<u64>,
    String,
    String,
);

/// The logistic rule written out natively, independent of the plugin's code:
/// per instrument, the returns over each look-back, a logistic of their weighted
/// sum, BUY above / SELL below the thresholds, quantity `size`.
fn native_decisions(
    model: &NativeModel,
    ticks: &[EventEnvelope<MarketTick>],
    size: u64,
) -> Vec<Decision> {
    let need = model.lookbacks.iter().copied().max().unwrap() + 1;
    let mut prices: std::collections::HashMap<u32, Vec<f64>> = Default::default();
    let mut out = Vec::new();
    for t in ticks {
        let d = &t.data;
        let p = prices.entry(d.instrument_token).or_default();
        p.push(d.last_price.to_string().parse::<f64>().unwrap());
        if p.len() < need {
            continue;
        }
        let now = p[p.len() - 1];
        let mut z = model.bias;
        for (&k, &w) in model.lookbacks.iter().zip(&model.weights) {
            let then = p[p.len() - 1 - k];
            z += w * ((now - then) / then);
        }
        let prob = 1.0 / (1.0 + libm::exp(-z));
        let side = if prob > model.buy_above {
            "BUY"
        } else if prob < model.sell_below {
            "SELL"
        } else {
            continue;
        };
        out.push((
            d.instrument_token,
            side.to_owned(),
            size,
            Some(d.last_price.to_string()),
            Some((2.0 * prob - 1.0).abs().to_bits()),
            format!("{prob:.6}"),
            model.version.clone(),
        ));
    }
    out
}

#[test]
fn the_ml_sample_signals_exactly_as_the_same_computation_done_natively() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = logistic_sample(tmp.path());
    let config = Config::from_toml_with_env(
        &format!(
            "broker = \"paper\"\n[plugins]\ndir = \"{}\"\nmax_batch = 37\n",
            plugins.display()
        ),
        "test",
        Vec::new(),
    )
    .unwrap();
    let ticks = common::paper_ticks(11, 4000);
    let input = tmp.path().join("ticks.jsonl");
    let mut f = std::fs::File::create(&input).unwrap();
    for t in &ticks {
        f.write_all(&t.to_vec().unwrap()).unwrap();
        f.write_all(b"\n").unwrap();
    }
    let mut set = load_strategies(&config).unwrap();
    let mut out = Vec::new();
    replay(&config, &mut set, &input, &mut out, &mut |_| {}).unwrap();

    let model_bytes = std::fs::read(plugins.join("models/logistic.json")).unwrap();
    let model_sha = sha256_hex(&model_bytes);
    let plugin_sha = sha256_hex(&std::fs::read(plugins.join("logistic.wasm")).unwrap());
    let wasm: Vec<Decision> = out
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let env: EventEnvelope<TradingSignal> = serde_json::from_slice(l).unwrap();
            let d = env.data;
            let meta = |k: &str| d.metadata[k].as_str().unwrap_or_default().to_owned();
            assert_eq!(
                meta("artifact_sha256.model"),
                model_sha,
                "the model's hash rides along"
            );
            assert_eq!(meta("plugin_sha256"), plugin_sha);
            (
                d.instrument_token,
                format!("{:?}", d.signal_type).to_uppercase(),
                d.quantity,
                d.price.map(|p| p.to_string()),
                d.confidence.map(f64::to_bits),
                meta("probability"),
                meta("model"),
            )
        })
        .collect();
    // Only instruments the manifest lists are the strategy's.
    let listed = [738561, 81153, 2714625, 408065, 341249, 256265];
    let theirs: Vec<EventEnvelope<MarketTick>> = ticks
        .into_iter()
        .filter(|t| listed.contains(&t.data.instrument_token))
        .collect();
    let native = native_decisions(
        &NativeModel::read(&plugins.join("models/logistic.json")),
        &theirs,
        50,
    );
    assert!(
        native.len() > 20,
        "the model trades on this stream: {}",
        native.len()
    );
    assert_eq!(
        wasm.len(),
        native.len(),
        "as many signals as the native run"
    );
    // Replay runs an instrument-scoped strategy per partition: compare per
    // instrument, in tick order.
    let (mut wasm, mut native) = (wasm, native);
    wasm.sort_by_key(|d| d.0);
    native.sort_by_key(|d| d.0);
    if let Some(i) = (0..wasm.len()).find(|&i| wasm[i] != native[i]) {
        panic!("first difference at {i}: {:?} vs {:?}", wasm[i], native[i]);
    }
}

const TOKEN: u32 = 408065;

/// A one-feature model: any 1 % move is far outside the band, so every tick after
/// the first signals; `w < 0` turns the sides round.
fn model_json(w: f64, version: &str) -> String {
    format!(
        r#"{{"version": "{version}", "lookbacks": [1], "weights": [{w}], "bias": 0.0, "buy_above": 0.6, "sell_below": 0.4}}"#
    )
}

/// `dir` gets `ml.wasm` (the logistic sample) naming `models/m.json`.
fn ml_plugin(dir: &Path, id: &str, token: u32, model: &str) {
    std::fs::create_dir_all(dir.join("models")).unwrap();
    std::fs::write(dir.join("models/m.json"), model).unwrap();
    std::fs::write(
        dir.join("ml.toml"),
        format!(
            "strategy_id = \"{id}\"\nbrokers = [\"paper\"]\ninstruments = [{token}]\nscope = \"instrument\"\n[params]\nposition_size = 1\n[artifacts]\nmodel = \"models/m.json\"\n"
        ),
    )
    .unwrap();
    std::fs::copy(paths::sample_wasm("logistic"), dir.join("ml.wasm")).unwrap();
}

struct Rig {
    dir: tempfile::TempDir,
    live: LiveStrategies,
    watcher: PluginWatcher,
    fed: i64,
    signals: Vec<SetOutput>,
    events: Vec<Lifecycle>,
}

impl Rig {
    fn new(limits: EngineLimits) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        ml_plugin(dir.path(), "ml_1", TOKEN, &model_json(1000.0, "v1"));
        let engine = StrategyEngine::new(limits, Some(dir.path().join(".cache"))).unwrap();
        let (initial, watcher) =
            PluginWatcher::start(dir.path(), engine.clone(), Duration::from_millis(40)).unwrap();
        let mut live = LiveStrategies::new(
            StrategySet::new(engine, SlotConfig::default()),
            BrokerNamespace::Paper,
        );
        let events = initial.into_iter().filter_map(|u| live.apply(u)).collect();
        Rig {
            dir,
            live,
            watcher,
            fed: 0,
            signals: Vec::new(),
            events,
        }
    }

    fn model_path(&self) -> PathBuf {
        self.dir.path().join("models/m.json")
    }

    /// Feeds two ticks (up 1 %, back down), applying pending updates first.
    fn feed(&mut self) {
        while let Some(u) = self.watcher.try_recv() {
            self.events.extend(self.live.apply(u));
        }
        let ticks: Vec<MarketTick> = [self.fed, self.fed + 1]
            .iter()
            .map(|&i| common::tick(TOKEN, if i % 2 == 0 { "100" } else { "101" }, i))
            .collect();
        self.fed += 2;
        let refs: Vec<&MarketTick> = ticks.iter().collect();
        self.signals.extend(self.live.process(&refs).signals);
    }

    /// Feeds until an event matching `want` came, or panics after 20 s.
    fn feed_until(&mut self, what: &str, want: impl Fn(&Lifecycle) -> bool) -> Lifecycle {
        let started = Instant::now();
        let seen = self.events.len();
        loop {
            if let Some(e) = self.events[seen..].iter().find(|e| want(e)) {
                return e.clone();
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}: {:?}",
                self.events
            );
            self.feed();
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn last_model(&self) -> (String, String) {
        let s = self.signals.last().expect("a signal");
        (
            common::meta_of(s, "model"),
            s.artifacts
                .iter()
                .next()
                .map(|a| a.sha256.clone())
                .unwrap_or_default(),
        )
    }
}

fn refused(e: &Lifecycle) -> Option<&str> {
    match e {
        Lifecycle::Refused { reason, .. } => Some(reason),
        _ => None,
    }
}

#[test]
fn an_artifact_change_reloads_the_strategy_and_a_bad_one_changes_nothing() {
    let limits = EngineLimits {
        max_artifact_bytes: 4096,
        ..EngineLimits::default()
    };
    let mut rig = Rig::new(limits);
    assert!(
        matches!(rig.events[..], [Lifecycle::Loaded { .. }]),
        "{:?}",
        rig.events
    );
    rig.feed();
    let v1 = model_json(1000.0, "v1");
    assert_eq!(
        rig.last_model(),
        ("v1".to_owned(), sha256_hex(v1.as_bytes()))
    );

    // A new model: the strategy reloads, keeps its price history and decides by it.
    let v2 = model_json(-1000.0, "v2");
    common::write_atomic(&rig.model_path(), v2.as_bytes());
    let e = rig.feed_until("the reload", |e| matches!(e, Lifecycle::Reloaded { .. }));
    assert!(matches!(e, Lifecycle::Reloaded { strategy_id, .. } if strategy_id == "ml_1"));
    rig.feed();
    assert_eq!(
        rig.last_model(),
        ("v2".to_owned(), sha256_hex(v2.as_bytes()))
    );

    // Bad artifacts: each is refused naming the artifact; v2 keeps running.
    let too_big = format!("{v2}{}", " ".repeat(5000));
    let bad: [(&str, Option<&[u8]>, &str); 3] = [
        (
            "too large",
            Some(too_big.as_bytes()),
            "plugins.max_artifact_bytes",
        ),
        ("malformed", Some(b"{\"version\": "), "is not valid JSON"),
        ("missing", None, "cannot read"),
    ];
    for (what, bytes, says) in bad {
        match bytes {
            Some(b) => common::write_atomic(&rig.model_path(), b),
            None => std::fs::remove_file(rig.model_path()).unwrap(),
        }
        let e = rig.feed_until(what, |e| refused(e).is_some());
        let reason = refused(&e).unwrap_or_default();
        assert!(
            reason.contains("artifact `model`") && reason.contains(says),
            "{what}: {reason}"
        );
        rig.feed();
        assert_eq!(
            rig.last_model().0,
            "v2",
            "{what}: the running version keeps running"
        );
    }

    // A good model again: loaded.
    common::write_atomic(&rig.model_path(), model_json(1000.0, "v3").as_bytes());
    rig.feed_until("the reload to v3", |e| {
        matches!(e, Lifecycle::Reloaded { .. })
    });
    rig.feed();
    assert_eq!(rig.last_model().0, "v3");
    // Every tick but the very first was answered exactly once, through every change.
    assert_eq!(rig.signals.len() as i64, rig.fed - 1);
}

#[test]
fn an_artifact_outside_the_allow_list_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_json(1000.0, "v1");
    ml_plugin(dir.path(), "ml_1", TOKEN, &model);
    let files = PluginFiles::for_wasm(&dir.path().join("ml.wasm")).unwrap();
    let wasm_sha = sha256_hex(&std::fs::read(&files.wasm).unwrap());
    let engine = |allowed: Vec<String>| {
        StrategyEngine::new(EngineLimits::default(), Some(dir.path().join(".cache")))
            .unwrap()
            .with_allow_list(allowed)
    };
    let err = load_plugin(&engine(vec![wasm_sha.clone()]), &files)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("artifact `model`")
            && err.contains(&sha256_hex(model.as_bytes()))
            && err.contains("not in plugins.allowed_sha256"),
        "{err}"
    );
    let loaded = load_plugin(
        &engine(vec![wasm_sha, sha256_hex(model.as_bytes())]),
        &files,
    )
    .unwrap();
    assert_eq!(loaded.manifest.loaded_artifacts.iter().count(), 1);
}

/// `n` more ticks of `token`, the price going 100, 101, 100, ...
fn alternating(
    feed: &mut pipeline_support::Ticks,
    token: u32,
    sent: &mut usize,
    n: usize,
) -> Vec<EventEnvelope<MarketTick>> {
    (0..n)
        .map(|_| {
            let mut t = feed.next(token);
            t.data.last_price = if sent.is_multiple_of(2) { "100" } else { "101" }
                .parse()
                .unwrap();
            *sent += 1;
            t
        })
        .collect()
}

/// On a real broker: the host answers every tick; a model written mid-stream takes
/// over at a tick boundary (signals carry its hash from then on) and no tick is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_broker_a_model_change_mid_stream_loses_no_tick() {
    use pipeline_support as ps;
    let bootstrap = alpha_panda_tests::broker::shared_bootstrap();
    let dir = ps::temp();
    let plugins = dir.path().join("plugins");
    let id = ps::name("ml");
    let token = ps::token();
    let v1 = model_json(1000.0, "v1");
    ml_plugin(&plugins, &id, token, &v1);
    let cfg = ps::config(
        &bootstrap,
        "paper",
        &ps::name("artifacts"),
        &plugins,
        &dir.path().join("cache"),
    );
    ps::ensure_topics(&bootstrap, &cfg).await;
    let host = ps::RunningHost::start(cfg);
    let producer = ps::producer(&bootstrap);
    let mut reader = ps::Reader::new(&bootstrap, &["paper.signals.raw"], false);
    let mut feed = ps::Ticks::new(21);
    let mut sent = 0usize;
    for t in alternating(&mut feed, token, &mut sent, 20) {
        ps::send_tick(&producer, &t).await;
    }
    let answered = |recs: &[ps::Rec], n: usize| ps::signals_of(recs, &id).len() >= n;
    assert!(
        reader.until(ps::WAIT, |r| answered(r, 19)).await,
        "the first 19 answers"
    );
    let v2 = model_json(-1000.0, "v2");
    common::write_atomic(&plugins.join("models/m.json"), v2.as_bytes());
    // Ticks keep coming until one is answered by the new model.
    let v2_sha = sha256_hex(v2.as_bytes());
    let started = Instant::now();
    loop {
        for t in alternating(&mut feed, token, &mut sent, 2) {
            ps::send_tick(&producer, &t).await;
        }
        reader.pump(Duration::from_millis(200)).await;
        let by_v2 = ps::signals_of(&reader.records, &id)
            .iter()
            .any(|(_, v)| v["data"]["metadata"]["artifact_sha256.model"] == v2_sha.as_str());
        if by_v2 {
            break;
        }
        assert!(started.elapsed() < ps::WAIT, "no signal from the new model");
    }
    for t in alternating(&mut feed, token, &mut sent, 10) {
        ps::send_tick(&producer, &t).await;
    }
    let all = sent - 1;
    assert!(
        reader.until(ps::WAIT, |r| answered(r, all)).await,
        "every tick answered"
    );
    host.stop();
    let signals = ps::signals_of(&reader.records, &id);
    assert_eq!(
        signals.len(),
        all,
        "each tick once: none lost, none doubled"
    );
    let models: Vec<&str> = signals
        .iter()
        .map(|(_, v)| v["data"]["metadata"]["model"].as_str().unwrap_or_default())
        .collect();
    let first_v2 = models
        .iter()
        .position(|m| *m == "v2")
        .unwrap_or(models.len());
    assert!(
        models[..first_v2].iter().all(|m| *m == "v1")
            && models[first_v2..].iter().all(|m| *m == "v2"),
        "one switch from v1 to v2, at a tick boundary: {models:?}"
    );
    let v1_sha = sha256_hex(v1.as_bytes());
    assert!(signals[..first_v2]
        .iter()
        .all(|(_, v)| v["data"]["metadata"]["artifact_sha256.model"] == v1_sha.as_str()));
}
