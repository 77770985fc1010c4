package benchgraph

import (
	"fmt"
	"strconv"
	"strings"
)

// The benchmark graph: four subgraphs (accounts, inventory, products,
// reviews) in the shape of the graph of the public "gateways benchmark"
// (The Guild's federation benchmarks), with data of its own, sized so that
// TestQuery's answer is about 87 KB as there.
//
//	accounts   Query.me, Query.user(id), Query.users; User @key(id): name, username, birthday
//	products   Query.topProducts(first = 5); Product @key(upc): name, price, weight
//	inventory  Product: inStock, shippingEstimate @requires(fields: "price weight")
//	reviews    Review @key(id): body, product, author @provides(fields: "username");
//	           User.reviews, Product.reviews

// TestQuery is the benchmark's query: users and top products, their
// reviews, the reviewed products' reviews and their authors' reviews, with
// every subgraph's fields.
const TestQuery = `fragment User on User {
  id
  username
  name
}

fragment Review on Review {
  id
  body
}

fragment Product on Product {
  inStock
  name
  price
  shippingEstimate
  upc
  weight
}

query TestQuery {
  users {
    ...User
    reviews {
      ...Review
      product {
        ...Product
        reviews {
          ...Review
          author {
            ...User
            reviews {
              ...Review
              product {
                ...Product
              }
            }
          }
        }
      }
    }
  }
  topProducts {
    ...Product
    reviews {
      ...Review
      author {
        ...User
        reviews {
          ...Review
          product {
            ...Product
          }
        }
      }
    }
  }
}
`

// The SDL of each subgraph, as _service { sdl } returns it.
const (
	accountsSDL = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])

type Query {
  me: User
  user(id: ID!): User
  users: [User]
}

type User @key(fields: "id") {
  id: ID!
  name: String
  username: String @shareable
  birthday: Int
}
`
	productsSDL = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

type Query {
  topProducts(first: Int = 5): [Product]
}

type Product @key(fields: "upc") {
  upc: String!
  name: String
  price: Int
  weight: Int
}
`
	inventorySDL = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external", "@requires"])

type Product @key(fields: "upc") {
  upc: String!
  weight: Int @external
  price: Int @external
  inStock: Boolean
  shippingEstimate: Int @requires(fields: "price weight")
}
`
	reviewsSDL = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external", "@provides"])

type Review @key(fields: "id") {
  id: ID!
  body: String
  product: Product
  author: User @provides(fields: "username")
}

type User @key(fields: "id") {
  id: ID!
  username: String @external
  reviews: [Review]
}

type Product @key(fields: "upc") {
  upc: String!
  reviews: [Review]
}
`
)

// The data: every value is fixed, so every answer is the same from run to
// run.
type user struct {
	id, name, username string
	birthday           int
	reviews            []*review
}

type product struct {
	upc, name     string
	price, weight int
	inStock       bool
	reviews       []*review
}

type review struct {
	id, body string
	product  *product
	author   *user
}

type dataset struct {
	users    []*user
	products []*product
	reviews  []*review
}

// bodyLengths are the reviews' lengths in bytes, one a review: with them
// TestQuery's answer is about 87 KB.
var bodyLengths = []int{650, 425, 405, 215, 650, 425, 405, 215, 215, 215, 1280}

// reviewProducts are the products (by index) of the reviews: four on the
// first product, four on the second, one on the third, two on the fourth,
// none on the others.
var reviewProducts = []int{0, 0, 0, 0, 1, 1, 1, 1, 2, 3, 3}

func newDataset() *dataset {
	d := &dataset{}
	names := [][2]string{
		{"Ada Brennan", "abrennan"}, {"Bruno Castell", "bcastell"}, {"Clara Dufour", "cdufour"},
		{"Dmitri Egorov", "degorov"}, {"Elif Fidan", "efidan"}, {"Farid Gaber", "fgaber"},
	}
	for i, n := range names {
		d.users = append(d.users, &user{id: strconv.Itoa(i + 1), name: n[0], username: n[1], birthday: 631152000 + 86400*97*i})
	}
	products := []struct {
		name          string
		price, weight int
	}{
		{"Desk", 899, 120}, {"Armchair", 1299, 900}, {"Mug", 15, 4}, {"Stool", 499, 80}, {"Radio", 1299, 700},
		{"Lantern", 6999, 250}, {"Kettle", 3999, 1500}, {"Freezer", 100000, 5500}, {"Bench", 9999, 850},
	}
	for i, p := range products {
		d.products = append(d.products, &product{
			upc: strconv.Itoa(i + 1), name: p.name, price: p.price, weight: p.weight, inStock: i%3 != 1,
		})
	}
	for i, pi := range reviewProducts {
		r := &review{
			id:      strconv.Itoa(i + 1),
			body:    prose(i+1, bodyLengths[i]),
			product: d.products[pi],
			author:  d.users[i%len(d.users)],
		}
		d.reviews = append(d.reviews, r)
		r.product.reviews = append(r.product.reviews, r)
		r.author.reviews = append(r.author.reviews, r)
	}
	return d
}

var words = strings.Fields(`quiet sturdy table finish walnut oak delivered promptly assembly took
minutes instructions clear legs wobble slightly after week still recommend colour matches photos
packaging excessive cardboard recyclable customer service answered questions politely price fair
quality surprising heavier expected drawers glide smoothly scratches easily would order again`)

// prose returns length bytes of sentences made of words, chosen by a
// generator seeded with seed.
func prose(seed, length int) string {
	var b strings.Builder
	x := uint32(seed)*2654435761 + 1
	sentence := 0
	for b.Len() < length {
		x = x*1664525 + 1013904223
		w := words[(x>>8)%uint32(len(words))]
		if sentence == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(w)
		sentence++
		if sentence >= 6+int(x>>28)%6 {
			b.WriteString(". ")
			sentence = 0
		}
	}
	s := strings.TrimRight(b.String(), " ")
	if len(s) > length {
		// Cut at the last whole word that fits.
		s = strings.TrimRight(s[:strings.LastIndexByte(s[:length], ' ')], " .") + "."
	}
	return s
}

// Graph returns the benchmark graph's four subgraphs: accounts, inventory,
// products, reviews.
func Graph() []*Subgraph {
	d := newDataset()
	return []*Subgraph{d.accountsSubgraph(), d.inventorySubgraph(), d.productsSubgraph(), d.reviewsSubgraph()}
}

// accounts

var accUserFields = fieldTable[*user]{
	"id":       func(u *user) any { return u.id },
	"name":     func(u *user) any { return u.name },
	"username": func(u *user) any { return u.username },
	"birthday": func(u *user) any { return u.birthday },
}

func (d *dataset) accountsSubgraph() *Subgraph {
	all, byID := objectsByKey(d.users, func(u *user) Object { return record[*user]{"User", u, accUserFields} }, userID)
	q := &query{sdl: accountsSDL, fields: func(name string, args Args) (any, error) {
		switch name {
		case "me":
			return all[0], nil
		case "user":
			id, err := args.String("id")
			if o, ok := byID[id]; ok && err == nil {
				return o, nil
			}
			return nil, err
		case "users":
			return all, nil
		}
		return nil, unknownField(name)
	}}
	q.entities = map[string]resolver{"User": lookup(byID, "id")}
	return &Subgraph{Name: "accounts", SDL: accountsSDL, root: q}
}

// products

var prodProductFields = fieldTable[*product]{
	"upc":    func(p *product) any { return p.upc },
	"name":   func(p *product) any { return p.name },
	"price":  func(p *product) any { return p.price },
	"weight": func(p *product) any { return p.weight },
}

func (d *dataset) productsSubgraph() *Subgraph {
	all, byUPC := objectsByKey(d.products, func(p *product) Object { return record[*product]{"Product", p, prodProductFields} }, productUPC)
	q := &query{sdl: productsSDL, fields: func(name string, args Args) (any, error) {
		if name != "topProducts" {
			return nil, unknownField(name)
		}
		n, err := args.Int("first", 5)
		if err != nil {
			return nil, err
		}
		return all[:max(0, min(n, len(all)))], nil
	}}
	q.entities = map[string]resolver{"Product": lookup(byUPC, "upc")}
	return &Subgraph{Name: "products", SDL: productsSDL, root: q}
}

// inventory

// invProduct is a product as inventory sees it: its stock, and the price
// and weight its representation carried (@requires).
type invProduct struct {
	p             *product
	price, weight *int
}

func (invProduct) Typename() string { return "Product" }

func (o invProduct) Field(name string, _ Args) (any, error) {
	switch name {
	case "upc":
		return o.p.upc, nil
	case "inStock":
		return o.p.inStock, nil
	case "shippingEstimate":
		if o.price == nil {
			return nil, nil
		}
		if *o.price > 1000 {
			return 0, nil // free shipping
		}
		if o.weight == nil {
			return nil, nil
		}
		return *o.weight / 2, nil
	}
	return nil, unknownField(name)
}

func (d *dataset) inventorySubgraph() *Subgraph {
	byUPC := map[string]*product{}
	for _, p := range d.products {
		byUPC[p.upc] = p
	}
	q := &query{sdl: inventorySDL}
	q.entities = map[string]resolver{"Product": func(rep map[string]any) (Object, error) {
		upc, err := keyString(rep, "upc")
		if err != nil {
			return nil, err
		}
		p := byUPC[upc]
		if p == nil {
			return nil, nil
		}
		o := invProduct{p: p}
		if o.price, err = optInt(rep, "price"); err != nil {
			return nil, err
		}
		if o.weight, err = optInt(rep, "weight"); err != nil {
			return nil, err
		}
		return o, nil
	}}
	return &Subgraph{Name: "inventory", SDL: inventorySDL, root: q}
}

// reviews

type revReview struct {
	r      *review
	g      *revGraph
	author Object
}

type revUser struct {
	u       *user
	reviews []Object
}

type revProduct struct {
	p       *product
	reviews []Object
}

// revGraph holds the reviews subgraph's objects, each made once: users
// by id, products by upc.
type revGraph struct {
	reviews  map[*review]*revReview
	users    map[string]Object
	products map[string]Object
}

func (*revReview) Typename() string { return "Review" }

var revReviewFields = fieldTable[*revReview]{
	"id":      func(o *revReview) any { return o.r.id },
	"body":    func(o *revReview) any { return o.r.body },
	"product": func(o *revReview) any { return o.g.products[o.r.product.upc] },
	"author":  func(o *revReview) any { return o.g.users[o.r.author.id] },
}

func (o *revReview) Field(name string, _ Args) (any, error) { return revReviewFields.get(o, name) }

func (*revUser) Typename() string { return "User" }

var revUserFields = fieldTable[*revUser]{
	"id":       func(o *revUser) any { return o.u.id },
	"username": func(o *revUser) any { return o.u.username }, // @external, provided on Review.author
	"reviews":  func(o *revUser) any { return o.reviews },
}

func (o *revUser) Field(name string, _ Args) (any, error) { return revUserFields.get(o, name) }

func (*revProduct) Typename() string { return "Product" }

var revProductFields = fieldTable[*revProduct]{
	"upc":     func(o *revProduct) any { return o.p.upc },
	"reviews": func(o *revProduct) any { return o.reviews },
}

func (o *revProduct) Field(name string, _ Args) (any, error) { return revProductFields.get(o, name) }

func (d *dataset) reviewsSubgraph() *Subgraph {
	g := &revGraph{reviews: map[*review]*revReview{}}
	for _, r := range d.reviews {
		g.reviews[r] = &revReview{r: r, g: g}
	}
	list := func(rs []*review) []Object {
		out := make([]Object, len(rs))
		for i, r := range rs {
			out[i] = g.reviews[r]
		}
		return out
	}
	_, byID := objectsByKey(d.reviews, func(r *review) Object { return g.reviews[r] }, func(r *review) string { return r.id })
	_, g.users = objectsByKey(d.users, func(u *user) Object { return &revUser{u: u, reviews: list(u.reviews)} }, userID)
	_, g.products = objectsByKey(d.products, func(p *product) Object { return &revProduct{p: p, reviews: list(p.reviews)} }, productUPC)
	q := &query{sdl: reviewsSDL}
	q.entities = map[string]resolver{"Review": lookup(byID, "id"), "User": lookup(g.users, "id"), "Product": lookup(g.products, "upc")}
	return &Subgraph{Name: "reviews", SDL: reviewsSDL, root: q}
}

func userID(u *user) string        { return u.id }
func productUPC(p *product) string { return p.upc }

// objectsByKey makes an Object of each of items, in order, and indexes
// them by key.
func objectsByKey[T any](items []T, object func(T) Object, key func(T) string) ([]Object, map[string]Object) {
	all := make([]Object, len(items))
	byKey := make(map[string]Object, len(items))
	for i, it := range items {
		all[i] = object(it)
		byKey[key(it)] = all[i]
	}
	return all, byKey
}

// lookup returns the resolver of the entities of byKey, found by their key
// field keyField: an entity that is not there is null.
func lookup(byKey map[string]Object, keyField string) resolver {
	return func(rep map[string]any) (Object, error) {
		k, err := keyString(rep, keyField)
		if o, ok := byKey[k]; ok && err == nil {
			return o, nil
		}
		return nil, err
	}
}

// String describes the data, for a benchmark's report.
func (d *dataset) String() string {
	return fmt.Sprintf("%d users, %d products, %d reviews", len(d.users), len(d.products), len(d.reviews))
}
