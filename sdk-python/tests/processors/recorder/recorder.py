"""A processor in the original interface that records what the adapter gives it and
answers with the result the test scripted for the tick's price."""

from decimal import Decimal
from typing import Any, Dict, List, Optional

from core.logging import get_trading_logger_safe
from core.schemas.events import MarketTick as MarketData
from strategies.core.protocols import SignalResult, StrategyProcessor

#: str(last_price) -> what process_tick returns; the test fills it.
SCRIPT: Dict[str, Any] = {}


class RecorderProcessor:
    def __init__(self, config: Dict[str, Any]):
        self.config = dict(config)
        self.history_length = int(config.get("history", 3))
        self.refuse = config.get("refuse")
        self.calls: List[tuple] = []
        self.logger = get_trading_logger_safe("recorder").bind(kind="test")

    def process_tick(self, tick: MarketData, history: List[MarketData]) -> Optional[SignalResult]:
        self.calls.append((tick.instrument_token, [str(h.last_price) for h in history], history[-1] is tick))
        result = SCRIPT.get(str(tick.last_price))
        if isinstance(result, Exception):
            raise result
        return result

    def get_required_history_length(self) -> int:
        return self.history_length

    def supports_instrument(self, token: int) -> bool:
        return token != self.refuse

    def get_strategy_name(self) -> str:
        return "recorder"


def create_recorder_processor(config: Dict[str, Any]) -> StrategyProcessor:
    if config.get("explode"):
        raise ValueError("bad config")
    return RecorderProcessor(config)


def buy(confidence: float, quantity: int = 5, price: str = "10.50", **kw: Any) -> SignalResult:
    return SignalResult("BUY", confidence, quantity, Decimal(price), **kw)
