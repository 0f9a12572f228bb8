"""The use cases behind the commands a person runs: import contacts, enroll, migrate
sequence versions, log calls, calibrate scoring."""
