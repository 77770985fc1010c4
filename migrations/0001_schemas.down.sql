-- Drops everything 0001 created in this database. The two group roles are
-- global to the cluster and may serve other databases, so they stay.
REVOKE SELECT ON public.schema_migrations FROM bookstore_books, bookstore_orders;
DROP SCHEMA orders CASCADE;
DROP SCHEMA books CASCADE;
DROP EXTENSION IF EXISTS pg_trgm;
