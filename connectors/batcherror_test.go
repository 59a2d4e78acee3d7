package connectors_test

import (
	"errors"
	"testing"

	"github.com/danube-console/danube-console/connectors"
)

func TestBatchErrorMessage(t *testing.T) {
	fail := func(idx ...int) *connectors.BatchError {
		be := &connectors.BatchError{}
		for _, i := range idx {
			be.Fail(i, errors.New("boom "+string(rune('a'+i))))
		}
		return be
	}
	for _, tc := range []struct {
		name string
		be   *connectors.BatchError
		want string
	}{
		{"empty", &connectors.BatchError{}, "batch failed"},
		{"one", fail(3), "1 of the batch failed: #3: boom d"},
		{"several", fail(7, 0, 4), "3 of the batch failed (#0, #4, #7), e.g. #0: boom a"},
		{"five", fail(9, 8, 7, 6, 5), "5 of the batch failed (#5, #6, #7, #8, #9), e.g. #5: boom f"},
		{"many", fail(12, 2, 11, 10, 3, 1, 6, 5), "8 of the batch failed (#1, #2, #3, #5, #6 and 3 more), e.g. #1: boom b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Map order changes from one range to the next; the message must not.
			for range 20 {
				if got := tc.be.Error(); got != tc.want {
					t.Fatalf("Error() = %q, want %q", got, tc.want)
				}
			}
		})
	}
}
