"""
Price momentum processor, written for the original strategy runner's processor
interface (factory + StrategyProcessor): it runs as an alpha-panda plugin unchanged,
through the SDK's adapter and the shims of core.* and strategies.* (sdk-python/compat).

Emits BUY when the price rose by more than `threshold` (a fraction) over the history
window, SELL when it fell by as much, HOLD otherwise. Confidence is on the legacy
0-100 scale (the adapter divides it by 100).
"""

from decimal import Decimal
from typing import Any, Dict, List, Optional

from core.logging import get_trading_logger_safe
from core.schemas.events import MarketTick as MarketData
from strategies.core.protocols import SignalResult, StrategyProcessor

logger = get_trading_logger_safe(__name__)


class WindowMomentumProcessor:
    """Compares the newest price with the oldest one of a `lookback_periods` window."""

    def __init__(self, lookback_periods: int = 20, threshold: float = 0.01, position_size: int = 100):
        self.lookback_periods = lookback_periods
        self.threshold = threshold
        self.position_size = position_size
        self.signals_emitted = 0

    def process_tick(self, tick: MarketData, history: List[MarketData]) -> Optional[SignalResult]:
        if len(history) < self.lookback_periods:
            return None
        try:
            first = float(history[0].last_price)
            current = float(tick.last_price)
            if first <= 0:
                return None
            change = (current - first) / first
        except (ValueError, ArithmeticError) as e:
            logger.warning("momentum_failed", instrument=tick.instrument_token, error=str(e))
            return None
        if change > self.threshold:
            signal_type = "BUY"
        elif change < -self.threshold:
            signal_type = "SELL"
        else:
            return SignalResult(signal_type="HOLD", confidence=0.0, quantity=0,
                                price=Decimal(str(current)))
        self.signals_emitted += 1
        return SignalResult(
            signal_type=signal_type,
            confidence=min(100.0, abs(change) * 2000.0),
            quantity=self.position_size,
            price=Decimal(str(current)),
            reasoning=f"{signal_type}: {change:+.2%} over {len(history)} ticks",
            metadata={"change": round(change, 6), "window": len(history),
                      "first_price": Decimal(str(first))},
        )

    def get_required_history_length(self) -> int:
        return self.lookback_periods

    def supports_instrument(self, token: int) -> bool:
        return True

    def get_strategy_name(self) -> str:
        return "window_momentum"


def create_momentum_processor(config: Dict[str, Any]) -> StrategyProcessor:
    return WindowMomentumProcessor(
        lookback_periods=int(config.get("lookback_periods", 20)),
        threshold=float(config.get("threshold", 0.01)),
        position_size=int(config.get("position_size", 100)),
    )
