ALTER TABLE books.books RESET (fillfactor);
DROP INDEX books.books_search_grams;
DROP FUNCTION books.search_grams(text, text);
