package enum

import "testing"

func TestParse(t *testing.T) {
	type color string
	for _, c := range []struct {
		s    string
		want color
		ok   bool
	}{{"", "red", true}, {"red", "red", true}, {"blue", "blue", true}, {"green", "", false}, {"Red", "", false}} {
		if got, ok := Parse(c.s, color("red"), color("blue")); got != c.want || ok != c.ok {
			t.Errorf("Parse(%q) = %q, %v; want %q, %v", c.s, got, ok, c.want, c.ok)
		}
	}
	if _, ok := Parse[color](""); ok {
		t.Error(`Parse("") with no values: ok`)
	}
}
