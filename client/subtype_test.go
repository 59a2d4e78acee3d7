package client

import (
	"errors"
	"testing"
)

func TestParseSubscriptionType(t *testing.T) {
	for in, want := range map[string]SubscriptionType{
		"shared": Shared, "exclusive": Exclusive, "failover": Failover, "key-shared": KeyShared,
		"Shared": Shared, "KeyShared": KeyShared, "key_shared": KeyShared, " EXCLUSIVE ": Exclusive, "keyshared": KeyShared,
	} {
		got, err := ParseSubscriptionType(in)
		if err != nil || got != want {
			t.Errorf("ParseSubscriptionType(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "share", "key shared", "1"} {
		if _, err := ParseSubscriptionType(in); !errors.Is(err, ErrUnknownSubscriptionType) {
			t.Errorf("ParseSubscriptionType(%q) error = %v, want ErrUnknownSubscriptionType", in, err)
		}
	}
	for _, typ := range []SubscriptionType{Shared, Exclusive, Failover, KeyShared} {
		b, err := typ.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back SubscriptionType
		if err := back.UnmarshalText(b); err != nil || back != typ {
			t.Errorf("round trip of %v through %q gave %v, %v", typ, b, back, err)
		}
	}
	if _, err := SubscriptionType(9).MarshalText(); !errors.Is(err, ErrUnknownSubscriptionType) {
		t.Errorf("MarshalText(9) error = %v", err)
	}
	if got := SubscriptionTypeNames(); len(got) != 4 || got[3] != "key-shared" {
		t.Errorf("SubscriptionTypeNames() = %v", got)
	}
}
