//! The `pair` test plugin (on each tick of `lead`, BUY at `follow`'s last price)
//! for the strategy-scope tests: tokens on chosen partitions, its plugin files,
//! a tick stream over both instruments, `replay`'s answers for a stream, and the
//! live answers read back, checked for consistency.

use std::collections::BTreeMap;
use std::path::Path;

use alpha_panda::contract::{EventEnvelope, MarketTick};
use alpha_panda::topics::partition_of;
use serde_json::Value;

use super::{temp, token, Rec, Ticks, TICK_PARTITIONS};

/// Two fresh tokens whose ticks are on different partitions (`same`: the same).
pub fn two_tokens(same: bool) -> (u32, u32) {
    let part = |t: u32| partition_of(t.to_string().as_bytes(), TICK_PARTITIONS);
    let lead = token();
    loop {
        let follow = token();
        if (part(lead) == part(follow)) == same {
            return (lead, follow);
        }
    }
}

/// Writes the pair plugin as `dir/{id}.wasm` + manifest (scope as given, or the
/// default when `None`).
pub fn pair_plugin(dir: &Path, id: &str, lead: u32, follow: u32, scope: Option<&str>) {
    let scope = scope
        .map(|s| format!("scope = \"{s}\"\n"))
        .unwrap_or_default();
    let manifest = format!(
        "strategy_id = \"{id}\"\nbrokers = [\"paper\"]\ninstruments = [{lead}, {follow}]\n{scope}\n[params]\nlead = {lead}\nfollow = {follow}\n"
    );
    super::install_plugin(dir, id, "pair", &manifest);
}

/// What a pair signal says: the lead tick it answers, its price, `n` and the
/// follow tick's time.
pub type Answer = (String, String, String, String);

pub fn answer_of(v: &Value) -> Answer {
    let d = &v["data"];
    (
        v["causation_id"].as_str().unwrap_or_default().to_owned(),
        d["price"].to_string(),
        d["metadata"]["n"].to_string(),
        d["metadata"]["follow_us"].to_string(),
    )
}

/// The signals `replay` gives for `ticks` (in the order written) with the
/// plugins of `plugins`, per strategy id.
pub fn replayed(
    plugins: &Path,
    ticks: &[EventEnvelope<MarketTick>],
) -> BTreeMap<String, Vec<Answer>> {
    let dir = temp();
    let file = dir.path().join("ticks.jsonl");
    let mut text = String::new();
    for t in ticks {
        text.push_str(&String::from_utf8(t.to_vec().expect("encode")).expect("utf-8"));
        text.push('\n');
    }
    std::fs::write(&file, text).expect("write ticks");
    let mut config = alpha_panda::config::Config::load(None).expect("config");
    config.plugins.dir = plugins.to_owned();
    config.plugins.cache_dir = Some(dir.path().join("cache"));
    config.topics.market_ticks.partitions = TICK_PARTITIONS;
    let mut set = alpha_panda::replay::load_strategies(&config).expect("plugins load");
    let mut out = Vec::new();
    alpha_panda::replay::replay(&config, &mut set, &file, &mut out, &mut |_| {}).expect("replay");
    let mut by: BTreeMap<String, Vec<Answer>> = BTreeMap::new();
    for line in String::from_utf8(out).expect("utf-8").lines() {
        let v: Value = serde_json::from_str(line).expect("json");
        let id = v["data"]["strategy_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        by.entry(id).or_default().push(answer_of(&v));
    }
    by
}

/// Ticks alternating irregularly between `lead` and `follow` (every third goes
/// to `follow`, with runs), timestamps increasing in the order written.
pub fn stream(
    ticks: &mut Ticks,
    lead: u32,
    follow: u32,
    n: usize,
    phase: usize,
) -> Vec<EventEnvelope<MarketTick>> {
    (0..n)
        .map(|i| {
            let k = i + phase;
            let token = if k.is_multiple_of(3) || k.is_multiple_of(7) {
                follow
            } else {
                lead
            };
            ticks.next(token)
        })
        .collect()
}

/// Live signals of `ids`, each tick answered once per strategy (a repeat must
/// say the same): per strategy, sorted by the answered tick's place in `order`.
pub fn live_answers(
    records: &[Rec],
    ids: &[String],
    order: &BTreeMap<String, usize>,
) -> Result<BTreeMap<String, Vec<Answer>>, String> {
    let mut by: BTreeMap<String, BTreeMap<usize, Answer>> = BTreeMap::new();
    for r in records {
        let v = r.json();
        let Some(id) = v["data"]["strategy_id"].as_str() else {
            continue;
        };
        if !ids.iter().any(|i| i == id) {
            continue;
        }
        let a = answer_of(&v);
        let Some(&place) = order.get(&a.0) else {
            return Err(format!("{id} answered a tick never sent: {}", a.0));
        };
        if let Some(before) = by
            .entry(id.to_owned())
            .or_default()
            .insert(place, a.clone())
        {
            if before != a {
                return Err(format!(
                    "{id} answered tick {} twice, differently: {before:?} then {a:?}",
                    a.0
                ));
            }
        }
    }
    Ok(by
        .into_iter()
        .map(|(id, m)| (id, m.into_values().collect()))
        .collect())
}

/// Sends a tick as the feed does and checks it landed on the partition the host
/// computes for its instrument (the strategy scope relies on it).
pub async fn send_checked(p: &rdkafka::producer::FutureProducer, t: &EventEnvelope<MarketTick>) {
    let (partition, _) = super::send_tick(p, t).await;
    let want = partition_of(t.key.as_bytes(), TICK_PARTITIONS);
    assert_eq!(
        partition, want,
        "tick of {} on partition {partition}, the host expects {want}",
        t.key
    );
}

/// The first answer of `id` where live and replay differ, with the ticks sent
/// around the tick it answers (place, token, time, price), for a failure message.
pub fn first_difference(
    id: &str,
    got: &BTreeMap<String, Vec<Answer>>,
    want: &BTreeMap<String, Vec<Answer>>,
    sent: &[EventEnvelope<MarketTick>],
) -> Option<String> {
    let g = got.get(id).cloned().unwrap_or_default();
    let w = want.get(id).cloned().unwrap_or_default();
    let i = (0..g.len().max(w.len())).find(|&i| g.get(i) != w.get(i))?;
    let around = |v: &[Answer]| v[i.saturating_sub(1).min(v.len())..(i + 2).min(v.len())].to_vec();
    let cause = g
        .get(i)
        .or(w.get(i))
        .map(|a| a.0.clone())
        .unwrap_or_default();
    let place = sent.iter().position(|t| t.id == cause).unwrap_or(0);
    let ticks: Vec<String> = sent[place.saturating_sub(8)..(place + 3).min(sent.len())]
        .iter()
        .map(|t| {
            format!(
                "{} {} {} {}",
                t.id,
                t.data.instrument_token,
                t.data.timestamp.to_unix_micros(),
                t.data.last_price
            )
        })
        .collect();
    Some(format!(
        "{id}: answer {i} of {} live / {} replayed differs:\nlive     {:?}\nreplayed {:?}\nticks sent around it:\n{}",
        g.len(),
        w.len(),
        around(&g),
        around(&w),
        ticks.join("\n")
    ))
}

/// A host's setting for the pair over two instruments of one partition, at both
/// scopes: `scoped` (strategy scope) and `per_partition` (instrument scope).
pub struct BothScopes {
    pub bootstrap: String,
    pub dir: tempfile::TempDir,
    pub plugins: std::path::PathBuf,
    pub lead: u32,
    pub follow: u32,
    pub scoped: String,
    pub per_partition: String,
    pub cfg: alpha_panda::config::Config,
}

impl BothScopes {
    /// Plugins written, topics made; the host not started.
    pub async fn new(service: &str) -> BothScopes {
        let bootstrap = alpha_panda_tests::broker::shared_bootstrap();
        let dir = super::temp();
        let plugins = dir.path().join("plugins");
        let (lead, follow) = two_tokens(true);
        let scoped = super::name("pair_s");
        let per_partition = super::name("pair_i");
        pair_plugin(&plugins, &scoped, lead, follow, Some("strategy"));
        pair_plugin(&plugins, &per_partition, lead, follow, Some("instrument"));
        let cfg = super::config(
            &bootstrap,
            "paper",
            &super::name(service),
            &plugins,
            &dir.path().join("cache"),
        );
        super::ensure_topics(&bootstrap, &cfg).await;
        BothScopes {
            bootstrap,
            dir,
            plugins,
            lead,
            follow,
            scoped,
            per_partition,
            cfg,
        }
    }
}
