DROP INDEX books.books_search_grams;
DROP FUNCTION books.search_grams(text, text);
