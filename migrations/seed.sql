-- Demo catalogue for a new installation: real books with real ISBN-13s.
-- Re-running is harmless: a book whose ISBN is already there is left as it is.
-- Ids are derived from the ISBN so that they are the same on every machine.
INSERT INTO books.books (id, isbn, title, author, description, published_year, price_cents, stock)
SELECT md5('bookstore-seed:' || s.isbn)::uuid, s.isbn, s.title, s.author, s.description, s.year, s.price, s.stock
FROM (VALUES
  ('9780134190440', 'The Go Programming Language', 'Alan A. A. Donovan', 'The authoritative introduction to Go, from its syntax to concurrency and testing.', 2015, 3999, 25),
  ('9780131103627', 'The C Programming Language', 'Brian W. Kernighan', 'The classic introduction to C by the language''s designers, second edition.', 1988, 6750, 12),
  ('9780262510875', 'Structure and Interpretation of Computer Programs', 'Harold Abelson', 'Programs as a way of expressing ideas: abstraction, state and interpreters.', 1996, 5500, 7),
  ('9780135957059', 'The Pragmatic Programmer', 'David Thomas', 'Practical advice on the craft of software development, 20th anniversary edition.', 2019, 4999, 30),
  ('9780132350884', 'Clean Code', 'Robert C. Martin', 'A handbook of agile software craftsmanship.', 2008, 4299, 18),
  ('9780201633610', 'Design Patterns', 'Erich Gamma', 'Elements of reusable object-oriented software.', 1994, 5999, 9),
  ('9780134757599', 'Refactoring', 'Martin Fowler', 'Improving the design of existing code, second edition.', 2018, 5499, 14),
  ('9781449373320', 'Designing Data-Intensive Applications', 'Martin Kleppmann', 'The big ideas behind reliable, scalable and maintainable systems.', 2017, 5999, 40),
  ('9780262033848', 'Introduction to Algorithms', 'Thomas H. Cormen', 'A comprehensive textbook on algorithms, third edition.', 2009, 9500, 6),
  ('9780735619678', 'Code Complete', 'Steve McConnell', 'A practical handbook of software construction, second edition.', 2004, 4499, 11),
  ('9780201835953', 'The Mythical Man-Month', 'Frederick P. Brooks Jr.', 'Essays on software engineering, anniversary edition.', 1995, 3499, 8),
  ('9781491929124', 'Site Reliability Engineering', 'Betsy Beyer', 'How Google runs production systems.', 2016, 4450, 15),
  ('9781492046530', 'Kubernetes: Up and Running', 'Brendan Burns', 'Dive into the future of infrastructure, second edition.', 2019, 4999, 10),
  ('9780321125217', 'Domain-Driven Design', 'Eric Evans', 'Tackling complexity in the heart of software.', 2003, 6499, 5),
  ('9780131177055', 'Working Effectively with Legacy Code', 'Michael Feathers', 'Techniques for changing code that has no tests.', 2004, 5299, 0),
  ('9780321146533', 'Test Driven Development: By Example', 'Kent Beck', 'Red, green, refactor: building software test first.', 2002, 3999, 13),
  ('9780201896831', 'The Art of Computer Programming, Volume 1', 'Donald E. Knuth', 'Fundamental algorithms, third edition.', 1997, 7999, 3),
  ('9780201657883', 'Programming Pearls', 'Jon Bentley', 'Columns on the craft of programming, second edition.', 1999, 3299, 16),
  ('9780321486813', 'Compilers: Principles, Techniques, and Tools', 'Alfred V. Aho', 'The dragon book, second edition.', 2006, 8999, 4),
  ('9780451524935', 'Nineteen Eighty-Four', 'George Orwell', 'A dystopian novel of surveillance and control.', 1961, 999, 60),
  ('9780061120084', 'To Kill a Mockingbird', 'Harper Lee', 'A novel of justice and childhood in the American South.', 2006, 1299, 45),
  ('9780547928227', 'The Hobbit', 'J. R. R. Tolkien', 'Bilbo Baggins'' journey there and back again.', 2012, 1099, 50),
  ('9780141439518', 'Pride and Prejudice', 'Jane Austen', 'Elizabeth Bennet and Mr Darcy.', 2003, 899, 35),
  ('9780441172719', 'Dune', 'Frank Herbert', 'Politics, religion and ecology on the desert planet Arrakis.', 2005, 1099, 28),
  ('9780743273565', 'The Great Gatsby', 'F. Scott Fitzgerald', 'Jay Gatsby and the Jazz Age on Long Island.', 2004, 1500, 22),
  ('9780142437247', 'Moby-Dick', 'Herman Melville', 'Captain Ahab''s hunt for the white whale.', 2003, 1800, 12),
  ('9780060850524', 'Brave New World', 'Aldous Huxley', 'A world made stable by conditioning and pleasure.', 2006, 1599, 19),
  ('9780316769488', 'The Catcher in the Rye', 'J. D. Salinger', 'Holden Caulfield''s days in New York.', 2001, 999, 17),
  ('9780062316097', 'Sapiens', 'Yuval Noah Harari', 'A brief history of humankind.', 2015, 2499, 33),
  ('9780374533557', 'Thinking, Fast and Slow', 'Daniel Kahneman', 'The two systems that drive the way we think.', 2013, 2000, 21),
  ('9780465026562', 'Gödel, Escher, Bach', 'Douglas R. Hofstadter', 'An eternal golden braid of minds, machines and music.', 1999, 2250, 7),
  ('9780156012195', 'The Little Prince', 'Antoine de Saint-Exupéry', 'A pilot meets a prince from a small planet.', 2000, 1199, 26)
) AS s(isbn, title, author, description, year, price, stock)
ON CONFLICT (isbn) DO NOTHING;
