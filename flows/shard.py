"""Entry point of the ``shard`` deployment (see ``deployments/prefect.yaml``).

With ``NURTURE_SHARDS=N``, each daily run starts N runs of it: Prefect workers of the
``nurture`` pool, on any machine sharing the database, plan and send one shard each.
"""

from nurture.orchestration.shards import run_shard

__all__ = ["run_shard"]
