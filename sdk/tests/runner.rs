//! The engine behind the export, natively: timer order, per-tick error isolation, signal
//! checks, parameter checks, snapshot envelope.

use alpha_panda_sdk::runner::Output;
use alpha_panda_sdk::{
    Context, InitContext, ParamError, Params, Runner, Side, Signal, Strategy, StrategyError, Tick,
    TickData,
};
use serde::{Deserialize, Serialize};

/// Does what each tick's symbol says (`;`-separated commands) and records every call.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Probe {
    calls: Vec<String>,
    unencodable: bool,
}

impl Strategy for Probe {
    fn init(params: &Params, _ctx: &InitContext) -> Result<Self, ParamError> {
        Ok(Self {
            calls: Vec::new(),
            unencodable: params.get_or("unencodable", false)?,
        })
    }

    fn on_tick(&mut self, tick: &Tick, out: &mut Context) -> Result<(), StrategyError> {
        self.calls
            .push(format!("tick {} @{}", tick.price(), out.now_us()));
        for cmd in tick.symbol().unwrap_or("").split(';') {
            let words: Vec<&str> = cmd.split_whitespace().collect();
            let num = |i: usize| {
                words
                    .get(i)
                    .and_then(|w| w.parse::<i64>().ok())
                    .unwrap_or(0)
            };
            match words.first().copied() {
                Some("buy") => out.emit(Signal::buy(1)),
                Some("zero") => out.emit(Signal::buy(0)),
                Some("nan") => out.emit(Signal::buy(1).price(f64::NAN)),
                Some("other") => out.emit(Signal::buy(1).instrument(999)),
                Some("fail") => return Err(StrategyError::new("tick failed")),
                Some("timer") => out.set_timer(num(2), num(1) as u64),
                Some("cancel") => assert!(out.cancel_timer(num(1) as u64)),
                _ => {}
            }
        }
        Ok(())
    }

    fn on_timer(&mut self, id: u64, now_us: i64, out: &mut Context) -> Result<(), StrategyError> {
        self.calls.push(format!("timer {id} @{now_us}"));
        match id {
            4 => out.set_timer(now_us, 4), // re-armed for the same time: waits a tick
            7 => out.emit(Signal::sell(2)), // no instrument: invalid from a timer
            9 => return Err(StrategyError::new("timer failed")),
            _ => out.emit(Signal::sell(2).instrument(2)),
        }
        Ok(())
    }

    fn snapshot(&self) -> Result<Vec<u8>, StrategyError> {
        if self.unencodable {
            return Err(StrategyError::new("cannot encode"));
        }
        Ok(postcard::to_allocvec(self)?)
    }
}

fn runner(params: Params) -> Runner<Probe> {
    let ctx = InitContext {
        strategy_id: "probe_1".to_owned(),
        instruments: vec![2, 1],
        seed: 7,
        ..Default::default()
    };
    Runner::init(&params, &ctx).expect("init")
}

fn t(price: &str, ts: i64, script: &str) -> TickData {
    TickData::new(1, price, ts).symbol(script)
}

fn summary(out: &Output) -> Vec<(u32, Side, u64, u32)> {
    out.signals
        .iter()
        .map(|e| {
            let s = &e.signal;
            (
                e.tick_index,
                s.side,
                s.quantity,
                s.instrument_token.unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn timers_fire_before_the_tick_in_due_then_id_order() {
    let mut r = runner(Params::new());
    let out = r.feed_all(&[
        t("1", 10, "timer 3 50;timer 2 50;timer 1 40;timer 6 1000"),
        t("2", 45, ""),
        t("3", 50, "buy"),
    ]);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(
        r.strategy().calls,
        vec![
            "tick 1 @10",
            "timer 1 @40",
            "tick 2 @45",
            "timer 2 @50",
            "timer 3 @50",
            "tick 3 @50",
        ]
    );
    // Timer signals answer the tick that made them fire.
    assert_eq!(
        summary(&out),
        vec![
            (1, Side::Sell, 2, 2),
            (2, Side::Sell, 2, 2),
            (2, Side::Sell, 2, 2),
            (2, Side::Buy, 1, 1)
        ]
    );
    assert_eq!(r.pending_timers(), vec![(1000, 6)]);
}

#[test]
fn a_timer_rearmed_for_its_own_time_waits_for_the_next_tick() {
    let mut r = runner(Params::new());
    r.feed_all(&[t("1", 0, "timer 4 5"), t("2", 10, ""), t("3", 20, "")]);
    assert_eq!(
        r.strategy().calls,
        vec![
            "tick 1 @0",
            "timer 4 @5",
            "tick 2 @10",
            "timer 4 @5",
            "tick 3 @20"
        ]
    );
}

#[test]
fn a_failing_tick_loses_only_its_own_signals() {
    let mut r = runner(Params::new());
    let out = r.feed_all(&[
        t("1", 0, "buy"),
        t("2", 1, "buy;timer 5 2;fail"),
        t("3", 2, "buy"),
    ]);
    assert_eq!(out.errors.len(), 1);
    assert_eq!(out.errors[0].tick_index, 1);
    assert_eq!(out.errors[0].message, "tick failed");
    // Tick 2 is delivered; the timer set by the failed tick still fires.
    assert_eq!(
        summary(&out),
        vec![
            (0, Side::Buy, 1, 1),
            (2, Side::Sell, 2, 2),
            (2, Side::Buy, 1, 1)
        ]
    );
}

#[test]
fn a_failing_timer_is_reported_on_the_tick_it_fired_before() {
    let mut r = runner(Params::new());
    let out = r.feed_all(&[t("1", 0, "timer 9 1;timer 10 1"), t("2", 1, "buy")]);
    assert_eq!(out.errors.len(), 1);
    assert_eq!(out.errors[0].tick_index, 1);
    assert_eq!(out.errors[0].message, "on_timer(9): timer failed");
    assert!(out.signals.is_empty());
    assert_eq!(
        r.strategy().calls.len(),
        4,
        "timer 10 and the tick still ran"
    );
}

#[test]
fn invalid_signals_become_errors_of_their_tick() {
    let mut r = runner(Params::new());
    let cases = [
        ("zero", "quantity is 0"),
        ("nan", "not finite"),
        ("other", "instrument 999"),
    ];
    for (script, expected) in cases {
        let err = r.feed(&t("1", 0, script)).unwrap_err();
        assert!(err.contains(expected), "{script}: {err}");
    }
    assert_eq!(r.feed(&t("1", 0, "timer 7 0")), Ok(vec![]));
    let err = r.feed(&t("1", 0, "")).unwrap_err();
    assert!(err.contains("needs .instrument"), "{err}");
    let err = r.feed(&t("1", 0, "buy;zero")).unwrap_err();
    assert!(err.contains("quantity is 0"), "{err}");
    let ok = r.feed(&t("1", 0, "buy")).unwrap();
    assert_eq!(ok, vec![Signal::buy(1).instrument(1)]);
}

#[test]
fn unknown_and_mistyped_parameters_are_refused_by_name() {
    let ctx = InitContext::default();
    let e = Runner::<Probe>::init(&Params::new().with("lokback", 3), &ctx).unwrap_err();
    assert_eq!(e.param.as_deref(), Some("lokback"));
    assert!(
        e.message
            .contains("unknown parameter (this strategy reads: unencodable)"),
        "{e}"
    );
    let e = Runner::<Probe>::init(&Params::new().with("unencodable", 1), &ctx).unwrap_err();
    assert_eq!(e.param.as_deref(), Some("unencodable"));
    assert!(e.message.contains("boolean"), "{e}");
}

#[test]
fn snapshot_carries_state_and_timers() {
    let mut a = runner(Params::new());
    a.feed(&t("1", 0, "timer 1 100;timer 2 200")).unwrap();
    let bytes = a.snapshot();

    let mut b = runner(Params::new());
    b.restore(&bytes).unwrap();
    assert_eq!(b.strategy().calls, vec!["tick 1 @0"]);
    assert_eq!(b.pending_timers(), vec![(100, 1), (200, 2)]);
    let signals = b.feed(&t("2", 150, "")).unwrap();
    assert_eq!(signals, vec![Signal::sell(2).instrument(2)]);
}

#[test]
fn bad_snapshots_are_refused_with_a_reason() {
    let mut r = runner(Params::new());
    r.feed(&t("1", 0, "timer 1 100")).unwrap();
    let good = r.snapshot();

    assert!(r
        .restore(&[])
        .unwrap_err()
        .contains("not an alpha-panda snapshot"));
    let mut wrong_format = good.clone();
    wrong_format[0] = 9;
    assert!(r.restore(&wrong_format).unwrap_err().contains("format 9"));

    let failing = runner(Params::new().with("unencodable", true));
    let err = r.restore(&failing.snapshot()).unwrap_err();
    assert!(err.contains("cannot encode"), "{err}");
    // A refused snapshot leaves the instance as it was.
    assert_eq!(r.pending_timers(), vec![(100, 1)]);
    assert_eq!(r.strategy().calls, vec!["tick 1 @0"]);
}

#[test]
fn context_works_without_a_runner() {
    let mut p = Probe::default();
    let mut ctx = Context::default();
    p.on_tick(&t("1", 0, "buy;timer 3 9").as_tick(), &mut ctx)
        .unwrap();
    assert_eq!(ctx.signals(), &[Signal::buy(1)]);
    assert_eq!(ctx.timer(3), Some(9));
    assert_eq!(ctx.take_signals().len(), 1);
    assert!(ctx.signals().is_empty());
}
