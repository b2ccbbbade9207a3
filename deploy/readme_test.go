package deploy

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// mdLink is a Markdown link target: ](target).
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestReadmeLinks checks the README's links within the repository: files
// it points at exist and #anchors are its own headings, so moving a file or
// renaming a section does not leave operators at a dead link.
func TestReadmeLinks(t *testing.T) {
	anchors := readmeAnchors(t)
	for _, m := range mdLink.FindAllStringSubmatch(readFile(t, readmeFile), -1) {
		target := m[1]
		switch {
		case strings.Contains(target, "://"):
		case strings.HasPrefix(target, "#"):
			if !anchors[target[1:]] {
				t.Errorf("%s: link %s: no such heading", readmeFile, target)
			}
		default:
			path, _, _ := strings.Cut(target, "#")
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s: link %s: %v", readmeFile, target, err)
			}
		}
	}
}
