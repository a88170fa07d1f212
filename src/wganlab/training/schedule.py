"""How many critic updates precede each generator update."""

from __future__ import annotations

from dataclasses import dataclass

BURST_STEPS = 100
BURST_WARMUP = 25
BURST_PERIOD = 500


@dataclass(frozen=True)
class CriticSchedule:
    """``critic_steps`` (n_critic in Arjovsky et al.) per generator step, each on a fresh real batch.

    With ``burst``, Arjovsky's reference code trains the critic 100 times while the generator step is below 25
    or a multiple of 500, so the critic is close to optimal when the generator starts and is re-fitted
    periodically; the paper's text omits this, and the practical guide's notebook used 50 (``burst_steps``).
    """

    critic_steps: int = 1
    burst: bool = False
    burst_steps: int = BURST_STEPS

    def steps_before(self, generator_step: int) -> int:
        """Critic updates before generator update number ``generator_step`` (counting from 0)."""
        if self.burst and (generator_step < BURST_WARMUP or generator_step % BURST_PERIOD == 0):
            return self.burst_steps
        return self.critic_steps
