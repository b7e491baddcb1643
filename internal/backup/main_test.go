package backup

import (
	"os"
	"testing"

	"github.com/vulngate/vulngate/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
