package assess

import (
	"context"
	"errors"
	"fmt"

	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/store"
)

// ErrMalwareOverride is wrapped by the errors of assessments that would
// let a known malicious package through without the right to: the caller
// is not an admin, or the scope is global.
var ErrMalwareOverride = errors.New("known malicious package")

// MaliciousRecord returns the ID of a mirrored record in id's alias group
// that reports a malicious package (match.IsMalicious), "" when none does.
func (s *Service) MaliciousRecord(ctx context.Context, id string) (string, error) {
	ids, err := s.Group(ctx, id)
	if err != nil {
		return "", err
	}
	seen := map[string]bool{}
	for _, x := range ids {
		advs, err := s.st.AdvisoriesByID(ctx, x)
		if err != nil {
			return "", err
		}
		for _, a := range advs {
			if seen[a.ID] {
				continue
			}
			seen[a.ID] = true
			v, err := osv.Parse(a.Data)
			if err != nil {
				continue
			}
			if match.IsMalicious(v) {
				return v.ID, nil
			}
		}
	}
	return "", nil
}

// MalwareOverride checks an assessment of id in scope with effect before
// it is recorded: when id's group holds a known malicious package and the
// effect would let it through (not block), only an admin may, and only
// for one project or feed; override then says to mark the assessment as
// a malware override. Errors wrap ErrMalwareOverride, and ErrForbidden
// when the caller is not an admin.
func (s *Service) MalwareOverride(ctx context.Context, id, scope string, effect Effect, admin bool) (override bool, err error) {
	if effect == Block {
		return false, nil
	}
	mal, err := s.MaliciousRecord(ctx, id)
	if err != nil || mal == "" {
		return false, err
	}
	if err := canOverrideMalware(id, mal, scope, admin); err != nil {
		return false, err
	}
	return true, nil
}

// canOverrideMalware checks an assessment that would let the malicious
// record mal (in id's group) through: only an admin may, and only for one
// project or feed.
func canOverrideMalware(id, mal, scope string, admin bool) error {
	what := id
	if mal != id {
		what = fmt.Sprintf("%s (%s)", id, mal)
	}
	if !admin {
		return &overrideError{forbidden: true, msg: what + " is a known malicious package: only an admin can let it through (a reviewed false positive), with an assessment scoped to one project or feed"}
	}
	if scope == Global {
		return &overrideError{msg: what + " is a known malicious package: an assessment that lets it through must be scoped to one project or feed (project:NAME or feed:NAME), not global"}
	}
	return nil
}

type overrideError struct {
	msg       string
	forbidden bool
}

func (e *overrideError) Error() string { return e.msg }

func (e *overrideError) Is(target error) bool {
	switch target {
	case ErrMalwareOverride:
		return true
	case ErrForbidden:
		return e.forbidden
	case store.ErrInvalid:
		return !e.forbidden
	}
	return false
}

// ErrForbidden is wrapped by the errors of malware overrides attempted by
// someone who is not an admin (a 403, where ErrMalwareOverride alone is a
// request to correct).
var ErrForbidden = errors.New("permission denied")
