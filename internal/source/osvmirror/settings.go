package osvmirror

import (
	"context"
)

// SettingName is the store setting that holds the OSV source the server
// was configured with (Sources page, PUT /api/v1/sources, serve
// --osv-base-url); the command line reads the same one, so both use the
// source configured in the data directory.
const SettingName = "source.osv"

// Settings configures the OSV source.
type Settings struct {
	Enabled    bool     `json:"enabled"`
	BaseURL    string   `json:"base_url"`
	Ecosystems []string `json:"ecosystems"`
}

// SettingsStore reads settings.
type SettingsStore interface {
	Setting(ctx context.Context, name string, v any) (bool, error)
}

// LoadSettings returns the stored OSV settings, with DefaultBaseURL and no
// ecosystems when none were stored. ok reports whether a setting exists.
func LoadSettings(ctx context.Context, st SettingsStore) (v Settings, ok bool, err error) {
	v = Settings{BaseURL: DefaultBaseURL, Ecosystems: []string{}}
	ok, err = st.Setting(ctx, SettingName, &v)
	if v.Ecosystems == nil {
		v.Ecosystems = []string{}
	}
	if v.BaseURL == "" {
		v.BaseURL = DefaultBaseURL
	}
	return v, ok, err
}
