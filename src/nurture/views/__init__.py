"""Read models and their presentation: reports (text, JSON, HTML), a contact's
timeline, previews of rendered steps, forecasts. They change nothing."""
