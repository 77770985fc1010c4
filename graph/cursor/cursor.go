// Package cursor makes the opaque pagination cursors of the connections.
//
// A cursor is base64url of a small JSON document naming the ordering it
// belongs to and the sort key of the last row seen. Clients must treat it as
// opaque; the server rejects one that was altered, or made for another
// ordering.
package cursor

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// MaxLen bounds an encoded cursor; longer input is rejected unread.
const MaxLen = 1024

// ErrInvalid reports a cursor that this server did not make, or made for
// another ordering.
var ErrInvalid = errors.New("invalid cursor")

type envelope struct {
	Order string          `json:"o"`
	Key   json.RawMessage `json:"k"`
	ID    string          `json:"id"`
}

// Encode returns the cursor of a row with the given sort key and id, in the
// ordering named order.
func Encode(order string, key any, id string) string {
	k, err := json.Marshal(key)
	if err != nil {
		panic(fmt.Sprintf("cursor: sort key %T does not encode: %v", key, err)) // a programming error
	}
	b, err := json.Marshal(envelope{Order: order, Key: k, ID: id})
	if err != nil {
		panic(fmt.Sprintf("cursor: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode reads a cursor made by Encode for the ordering order, storing its
// sort key in key (a pointer) and returning the row id.
func Decode(s, order string, key any) (string, error) {
	if len(s) == 0 || len(s) > MaxLen {
		return "", ErrInvalid
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", ErrInvalid
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil || env.Order != order || env.ID == "" || len(env.Key) == 0 {
		return "", ErrInvalid
	}
	if err := json.Unmarshal(env.Key, key); err != nil {
		return "", ErrInvalid
	}
	return env.ID, nil
}
