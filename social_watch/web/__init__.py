"""The team inbox in the browser (`social-watch serve`): pages and a JSON API over the same
library functions the CLI calls, so claiming, replying once and the SLA clock live in one place."""
