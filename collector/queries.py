"""The named SQL statements the collector and the ``keys`` commands run. Values are always
bound parameters."""

from __future__ import annotations

#: A new write key (operator command).
CREATE_KEY = """
INSERT INTO collector.write_keys (app, key_hash, key_prefix, allowed_families)
VALUES (%(app)s, %(key_hash)s, %(key_prefix)s, %(allowed_families)s)
RETURNING id, created_at
"""

#: Every key, or one app's, oldest first (operator command).
LIST_KEYS = """
SELECT id, app, key_prefix, allowed_families, created_at, revoked_at
FROM collector.write_keys
WHERE %(app)s::text IS NULL OR app = %(app)s
ORDER BY id
"""

#: Revoke an app's active keys, or one of them by id (operator command). A revoked key is
#: kept so the collector answers 403 (revoked), not 401 (unknown), for it.
REVOKE_KEYS = """
UPDATE collector.write_keys SET revoked_at = now()
WHERE app = %(app)s AND revoked_at IS NULL AND (%(id)s::bigint IS NULL OR id = %(id)s)
RETURNING id
"""

#: The key a request presents, by its hash (the collector, as learnstream_collector).
LOOKUP_KEY = """
SELECT id, app, allowed_families, revoked_at IS NOT NULL
FROM collector.write_keys WHERE key_hash = %(key_hash)s
"""
