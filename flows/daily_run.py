"""Entry point of the ``daily-run`` deployment (see ``deployments/prefect.yaml``).

The flow lives in the package (``nurture.orchestration.flows``) so that ``nurture run``
works wherever nurture is installed; this file only exposes it to Prefect.
"""

from nurture.orchestration.flows import configured_daily_run

__all__ = ["daily_run"]

#: The flow, with the task runner NURTURE_TASK_RUNNER asks for (threads by default).
daily_run = configured_daily_run()

if __name__ == "__main__":
    daily_run()
