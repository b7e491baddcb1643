// Package strsample generates strings for holding a hand-written check to
// the regular expression it replaces.
package strsample

import (
	"math/rand/v2"
	"strings"
)

// Strings returns n strings of up to maxLen bytes for comparing a check
// with a pattern: the empty string, strings of one repeated byte at the
// length limits, and random strings mostly of ASCII letters, digits and
// punctuation (sometimes a control, non-ASCII or UTF-8 byte), a third
// of them almost only of letters, digits and "._-".
func Strings(maxLen, n int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := "azAZ09mM._-~+!@/\\: v\n\x00\x7f\x80\xff"
	common := "abcvxyzABCVXYZ0189._-"
	out := []string{""}
	for _, b := range []byte("a0A._-~@v/") {
		for _, l := range []int{1, 2, maxLen - 4, maxLen - 3, maxLen - 2, maxLen - 1, maxLen} {
			if l > 0 {
				out = append(out, strings.Repeat(string(b), l), "v"+strings.Repeat(string(b), l))
			}
		}
	}
	for len(out) < n {
		l := r.IntN(maxLen + 1)
		if r.IntN(4) == 0 {
			l = r.IntN(8)
		}
		b := make([]byte, l)
		mode := r.IntN(3)
		for i := range b {
			switch {
			case mode == 0 && r.IntN(3) != 0:
				b[i] = byte(0x20 + r.IntN(0x5f)) // any printable byte
			case mode == 2 && r.IntN(50) != 0:
				b[i] = common[r.IntN(len(common))] // mostly name bytes
			default:
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
		}
		out = append(out, string(b))
	}
	return out
}
