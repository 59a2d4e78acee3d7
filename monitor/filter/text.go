package filter

import (
	"bytes"
	"slices"
	"unicode"
	"unicode/utf8"
)

// textTerm finds text in payloads, case-insensitively.
type textTerm struct {
	needle []rune
	first  []byte // the first bytes of the UTF-8 forms of needle[0] and the runes it folds to
}

func newTextTerm(s string) *textTerm {
	t := &textTerm{needle: []rune(s)}
	if len(t.needle) == 0 {
		return t
	}
	r0 := t.needle[0]
	var buf [utf8.UTFMax]byte
	add := func(r rune) {
		utf8.EncodeRune(buf[:], r)
		if !slices.Contains(t.first, buf[0]) {
			t.first = append(t.first, buf[0])
		}
	}
	add(r0)
	for f := unicode.SimpleFold(r0); f != r0; f = unicode.SimpleFold(f) {
		add(f)
	}
	return t
}

// find reports whether the text occurs in b at or after from.
func (t *textTerm) find(b []byte, from int) (bool, int) {
	start, _ := t.index(b, from)
	return start >= 0, start
}

// index returns the first occurrence of the text in b at or after from, as [start, end) (-1, -1: none). An
// empty text occurs at from.
func (t *textTerm) index(b []byte, from int) (int, int) {
	if len(t.needle) == 0 {
		if from <= len(b) {
			return from, from
		}
		return -1, -1
	}
	// next[k] is the next position of t.first[k] at or after the candidate position (len(b): none).
	var nextBuf [4]int
	next := nextBuf[:0]
	if len(t.first) > len(nextBuf) {
		next = make([]int, 0, len(t.first))
	}
	for range t.first {
		next = append(next, -1)
	}
	for i := from; i < len(b); {
		c := len(b)
		for k, fb := range t.first {
			if next[k] < i {
				if j := bytes.IndexByte(b[i:], fb); j >= 0 {
					next[k] = i + j
				} else {
					next[k] = len(b)
				}
			}
			c = min(c, next[k])
		}
		if c >= len(b) {
			return -1, -1
		}
		if end := t.matchAt(b, c); end >= 0 {
			return c, end
		}
		i = c + 1
	}
	return -1, -1
}

// matchAt returns the end of the text when it occurs at b[i:], or -1.
func (t *textTerm) matchAt(b []byte, i int) int {
	for _, r := range t.needle {
		if i >= len(b) {
			return -1
		}
		sr, n := rune(b[i]), 1
		if sr >= utf8.RuneSelf {
			sr, n = utf8.DecodeRune(b[i:])
		}
		if !foldEq(r, sr) {
			return -1
		}
		i += n
	}
	return i
}

// foldEq reports whether two runes are equal under simple case folding.
func foldEq(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return false
}

// ---- globs ----

type globKind uint8

const (
	globLit globKind = iota
	globStar
	globOne
)

type globTok struct {
	kind globKind
	r    rune
}

// compileGlob turns a glob into tokens: * any run, ? one character, \x the character x.
func compileGlob(g string) []globTok {
	toks := make([]globTok, 0, len(g))
	for i := 0; i < len(g); {
		r, n := utf8.DecodeRuneInString(g[i:])
		i += n
		switch {
		case r == '*':
			if len(toks) == 0 || toks[len(toks)-1].kind != globStar {
				toks = append(toks, globTok{kind: globStar})
			}
		case r == '?':
			toks = append(toks, globTok{kind: globOne})
		case r == '\\' && i < len(g):
			r, n = utf8.DecodeRuneInString(g[i:])
			i += n
			toks = append(toks, globTok{kind: globLit, r: r})
		default:
			toks = append(toks, globTok{kind: globLit, r: r})
		}
	}
	return toks
}

// globMatch reports whether the whole of s matches the glob, in time O(len(glob)·len(s)) at worst.
func globMatch(glob []globTok, s string) bool {
	px, sx := 0, 0
	starPx, starSx := -1, 0
	for px < len(glob) || sx < len(s) {
		if px < len(glob) {
			switch t := glob[px]; t.kind {
			case globStar:
				starPx, starSx = px, sx
				px++
				continue
			case globOne:
				if sx < len(s) {
					_, n := utf8.DecodeRuneInString(s[sx:])
					sx += n
					px++
					continue
				}
			case globLit:
				if sx < len(s) {
					r, n := utf8.DecodeRuneInString(s[sx:])
					if r == t.r {
						sx += n
						px++
						continue
					}
				}
			}
		}
		// Mismatch: let the last star take one more character.
		if starPx >= 0 && starSx < len(s) {
			_, n := utf8.DecodeRuneInString(s[starSx:])
			starSx += n
			px, sx = starPx+1, starSx
			continue
		}
		return false
	}
	return true
}
