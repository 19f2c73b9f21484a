"""Shim of the original `strategies.core.protocols`: `SignalResult` (what a processor
returns) and the protocols a processor implements (`StrategyProcessor` and the ML,
policy and validator ones, for files that import them)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Dict, List, Optional, Protocol

from core.schemas.events import MarketTick as MarketData, TradingSignal  # noqa: F401


@dataclass(frozen=True, slots=True)
class SignalResult:
    """A processor's decision. `signal_type` is "BUY", "SELL" or "HOLD"; the adapter
    drops HOLD, takes a `confidence` above 1 as a 0-100 percentage, and drops
    `reasoning` (the signal has no field for it)."""

    signal_type: str
    confidence: float
    quantity: int
    price: Decimal
    reasoning: Optional[str] = None
    metadata: Optional[Dict[str, Any]] = None


class StrategyProcessor(Protocol):
    """What the adapter calls: `process_tick` with the tick and the history (the tick
    already appended, oldest first), `get_required_history_length`,
    `supports_instrument`, `get_strategy_name`."""

    def process_tick(self, tick: MarketData, history: List[MarketData]) -> Optional[SignalResult]:
        ...

    def get_required_history_length(self) -> int:
        ...

    def supports_instrument(self, token: int) -> bool:
        ...

    def get_strategy_name(self) -> str:
        ...


class MLStrategyProcessor(StrategyProcessor, Protocol):
    """A processor with a model: `process_tick` is `predict_signal(extract_features(...))`.
    Note the sandbox has no numpy, joblib or model files."""

    def load_model(self) -> bool:
        ...

    def extract_features(self, tick: MarketData, history: List[MarketData]) -> Any:
        ...

    def predict_signal(self, features: Any) -> Optional[SignalResult]:
        ...

    def process_tick(self, tick: MarketData, history: List[MarketData]) -> Optional[SignalResult]:
        return self.predict_signal(self.extract_features(tick, history))


class MLCapable(Protocol):
    def load_model(self) -> bool:
        ...

    def extract_features(self, tick: MarketData, history: List[MarketData]) -> Any:
        ...

    def predict_signal(self, features: Any) -> Optional[SignalResult]:
        ...


class DecisionPolicy(Protocol):
    def decide(self, rules_signal: Optional[SignalResult], ml_signal: Optional[SignalResult],
               context: Optional[Dict[str, Any]] = None) -> Optional[SignalResult]:
        ...


class StrategyValidator(Protocol):
    def validate_signal(self, signal: SignalResult, market_data: MarketData) -> bool:
        ...

    def validate_configuration(self, config: Dict[str, Any]) -> bool:
        ...
