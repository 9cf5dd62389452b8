package model

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// GlobalID returns the opaque Relay identifier of the object of type typ with key key.
func GlobalID(typ, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(typ + ":" + key))
}

// IntID returns the opaque Relay identifier of the object of type typ with integer key id.
func IntID(typ string, id int) string { return GlobalID(typ, strconv.Itoa(id)) }

// ParseGlobalID splits an identifier made by GlobalID; ok is false for anything else.
func ParseGlobalID(id string) (typ, key string, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return "", "", false
	}
	typ, key, ok = strings.Cut(string(b), ":")
	if !ok || typ == "" || key == "" {
		return "", "", false
	}
	return typ, key, true
}

// ParseIntID returns the integer key of an identifier of type typ made by IntID.
func ParseIntID(typ, id string) (int, bool) {
	t, key, ok := ParseGlobalID(id)
	if !ok || t != typ {
		return 0, false
	}
	n, err := strconv.Atoi(key)
	if err != nil || n <= 0 || strconv.Itoa(n) != key {
		return 0, false
	}
	return n, true
}
