"""The daily run's use cases, in the order the run calls them: ingest events, score and
apply stage rules (lifecycle), plan touches, execute them (render, deliver, record,
progress), dispatch what was planned for later, reconcile what a crash left unknown."""
