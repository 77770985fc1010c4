package gqlrun

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// documents are JSON documents as gqlgen may write them, and worse.
var documents = []string{
	`null`,
	`{}`,
	`{"a":1,"b":[true,false,null],"c":{"d":-1.5e10}}`,
	`{"title":"Tom & Jerry <3 > all","x":"\u003c already escaped \" \\ \/"}`,
	"{\"sep\":\"a\u2028b\u2029c\",\"near\":\"\u2027\u202a\u20ac\"}",
	"{\"utf8\":\"héllo 日本語 🙂\",\"ctl\":\"\\n\\t\\u0001\"}",
	"{ \"spaced\" : [ 1 , 2 ] ,\n\t\"s\": \" keep  these \\\" spaces \" }\n",
	`"<&>"`,
	`["\\", "\\\"<", "\"&\""]`,
}

func TestAppendCompactIsEncodingJSONs(t *testing.T) {
	docs := append([]string{}, documents...)
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		v := randomValue(r, 3)
		b, err := json.MarshalIndent(v, " ", "\t")
		if err != nil {
			t.Fatal(err)
		}
		// MarshalIndent escapes <, > and &: unescape some to test ours.
		docs = append(docs, strings.NewReplacer(`\u003c`, "<", `\u0026`, "&").Replace(string(b)))
	}
	for _, doc := range docs {
		if !json.Valid([]byte(doc)) {
			t.Fatalf("not JSON: %s", doc)
		}
		want, err := json.Marshal(json.RawMessage(doc))
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendCompact([]byte("prefix"), []byte(doc)); string(got) != "prefix"+string(want) {
			t.Errorf("AppendCompact(%q)\n got %q\nwant %q", doc, got, "prefix"+string(want))
		}
	}
}

func FuzzAppendCompact(f *testing.F) {
	for _, d := range documents {
		f.Add([]byte(d))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if !json.Valid(doc) {
			return
		}
		want, err := json.Marshal(json.RawMessage(doc))
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendCompact(nil, doc); string(got) != string(want) {
			t.Errorf("AppendCompact(%q)\n got %q\nwant %q", doc, got, want)
		}
	})
}

// randomValue makes a value of nested maps, lists, numbers, booleans and
// strings with the characters the escaping cares about.
func randomValue(r *rand.Rand, depth int) any {
	const chars = "ab <>&\"\\/\n\t\u2028\u2029é日🙂\x01"
	switch k := r.IntN(7); {
	case depth > 0 && k == 0:
		m := map[string]any{}
		for range r.IntN(4) {
			m[randomString(r, chars)] = randomValue(r, depth-1)
		}
		return m
	case depth > 0 && k == 1:
		l := make([]any, r.IntN(4))
		for i := range l {
			l[i] = randomValue(r, depth-1)
		}
		return l
	case k == 2:
		return r.Float64()*1e6 - 5e5
	case k == 3:
		return r.IntN(2) == 0
	case k == 4:
		return nil
	default:
		return randomString(r, chars)
	}
}

func randomString(r *rand.Rand, chars string) string {
	runes := []rune(chars)
	var b strings.Builder
	for range r.IntN(12) {
		b.WriteRune(runes[r.IntN(len(runes))])
	}
	return b.String()
}

func TestAppendResponseIsEncodingJSONs(t *testing.T) {
	yes := true
	for i, resp := range []*graphql.Response{
		{},
		{Data: json.RawMessage(`{"books":[{"title":"<Go> & you"}]}`)},
		{Data: json.RawMessage(`null`), Errors: gqlerror.List{{Message: "no <book>", Extensions: map[string]any{"code": "NOT_FOUND"}}}},
		{Data: json.RawMessage(`{"a":1}`), Extensions: map[string]any{"idempotentReplayed": true, "z": "&"}},
		{Data: json.RawMessage(`{"a":1}`), Label: "l", HasNext: &yes},
	} {
		want, err := json.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendResponse(nil, resp); string(got) != string(want) {
			t.Errorf("response %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// executor answers every request with a fixed response, or fails to
// create the operation with errs.
type executor struct {
	resp *graphql.Response
	errs gqlerror.List
}

func (e executor) CreateOperationContext(_ context.Context, p *graphql.RawParams) (*graphql.OperationContext, gqlerror.List) {
	if e.errs != nil {
		return nil, e.errs
	}
	return &graphql.OperationContext{RawQuery: p.Query, Variables: p.Variables}, nil
}

func (e executor) DispatchOperation(ctx context.Context, _ *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	return func(context.Context) *graphql.Response { return e.resp }, ctx
}

func (e executor) DispatchError(_ context.Context, list gqlerror.List) *graphql.Response {
	return &graphql.Response{Errors: list}
}

// TestPOSTAnswersAsGqlgens compares POST with gqlgen's transport.POST,
// request by request: status, headers and body.
func TestPOSTAnswersAsGqlgens(t *testing.T) {
	ok := executor{resp: &graphql.Response{Data: json.RawMessage(`{"t":"a <b> & c"}`), Extensions: map[string]any{"x": 1}}}
	invalid := executor{errs: gqlerror.List{{Message: "Cannot query field", Extensions: map[string]any{"code": "GRAPHQL_VALIDATION_FAILED"}}}}
	for _, tc := range []struct {
		name   string
		exec   graphql.GraphExecutor
		accept string
		body   string
	}{
		{"answered", ok, "", `{"query":"{ t }","variables":{"n":1.50}}`},
		{"answered, Accept application/json", ok, "application/json", `{"query":"{ t }"}`},
		{"another Accept", ok, "application/graphql-response+json", `{"query":"{ t }"}`},
		{"body not JSON", ok, "", `{"query":`},
		{"operation does not validate", invalid, "", `{"query":"{ nope }"}`},
		{"operation does not validate, graphql-response+json", invalid, "application/graphql-response+json", `{"query":"{ nope }"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			serve := func(tr graphql.Transport) *httptest.ResponseRecorder {
				r := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(tc.body))
				r.Header.Set("Content-Type", "application/json")
				if tc.accept != "" {
					r.Header.Set("Accept", tc.accept)
				}
				w := httptest.NewRecorder()
				tr.Do(w, r, tc.exec)
				return w
			}
			got, want := serve(POST{}), serve(transport.POST{})
			// POST adds Content-Length where it writes the answer itself
			// (gqlgen's answers go out chunked); it must be the body's.
			if n := got.Header().Get("Content-Length"); n != "" {
				if n != strconv.Itoa(got.Body.Len()) {
					t.Errorf("Content-Length %s for a body of %d bytes", n, got.Body.Len())
				}
				got.Header().Del("Content-Length")
			} else if got.Code == http.StatusOK && tc.accept != "application/graphql-response+json" && strings.Contains(got.Body.String(), `"data"`) {
				t.Error("an answer POST wrote itself has no Content-Length")
			}
			if got.Code != want.Code || fmt.Sprint(got.Header()) != fmt.Sprint(want.Header()) || got.Body.String() != want.Body.String() {
				t.Errorf("got %d %v %s\nwant %d %v %s", got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
			}
		})
	}
}
