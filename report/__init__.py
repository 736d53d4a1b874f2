"""The results site people read: pages, charts and spreadsheets made from the published results.

Pure rendering: it takes the documents the public files carry (services.read builds them) and
returns text or bytes; no database, no I/O but reading its own templates."""
