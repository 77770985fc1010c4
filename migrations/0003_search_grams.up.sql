-- Search for every term length (issue 12). The trigram indexes serve terms
-- of 3 characters and more; a term of 1 or 2 characters has no trigram, so
-- it matched by reading the whole catalogue. search_grams gives every
-- 1- and 2-character substring of a book's lowered title and author, and a
-- GIN index over it finds the books whose title or author can contain a
-- short term: the store adds `search_grams(title, author) @> ARRAY[left(lower(term), 2)]`
-- to the ILIKE match, which stays the definition of a match. For a term
-- that is everywhere the planner walks an ordering's index instead.
--
-- ILIKE compares lower(text) with lower(pattern) in a multibyte (UTF8)
-- database, as lower() is used here, so a match always passes the GIN
-- condition. COST tells the planner that computing the array for every row
-- (a sequential scan) is dear; an index scan never computes it.
CREATE FUNCTION books.search_grams(title text, author text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 500
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  grams text[] := '{}';
  s text;
BEGIN
  -- Duplicates are harmless: GIN stores each key once per row.
  FOREACH s IN ARRAY ARRAY[lower(title), lower(author)] LOOP
    grams := grams || regexp_split_to_array(s, '');
    FOR i IN 1 .. char_length(s) - 1 LOOP
      grams := grams || substr(s, i, 2);
    END LOOP;
  END LOOP;
  RETURN grams;
END
$$;

CREATE INDEX books_search_grams ON books.books USING gin (books.search_grams(title, author));

-- The planner needs the new expression's statistics (how many books hold
-- each gram) to tell a rare term from a common one.
ANALYZE books.books;

-- A stock move (every order) changes no indexed column, so it can be a
-- HOT update, which touches no index at all, if the book's page has room
-- for the new row version. Leave that room in every page. (Pages written
-- before this migration get it when the table is rewritten, e.g. by
-- VACUUM FULL.)
ALTER TABLE books.books SET (fillfactor = 80);
