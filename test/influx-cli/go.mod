// Pins the influx CLI for the client tests (built by ./build.sh): the pseudo-version influxd
// v2.9.1 requires, the only one the module proxy serves (it refuses the tagged versions).
module influx-onboarding-operator/test/influx-cli

go 1.26.0

tool github.com/influxdata/influx-cli/v2/cmd/influx

require (
	github.com/AlecAivazis/survey/v2 v2.3.4 // indirect
	github.com/BurntSushi/toml v1.2.1 // indirect
	github.com/atotto/clipboard v0.1.4 // indirect
	github.com/charmbracelet/bubbles v0.11.0 // indirect
	github.com/charmbracelet/bubbletea v0.21.0 // indirect
	github.com/charmbracelet/lipgloss v0.5.0 // indirect
	github.com/containerd/console v1.0.3 // indirect
	github.com/cpuguy83/go-md2man/v2 v2.0.2 // indirect
	github.com/evertras/bubble-table v0.13.7 // indirect
	github.com/fatih/color v1.9.0 // indirect
	github.com/fujiwara/shapeio v1.0.0 // indirect
	github.com/gocarina/gocsv v0.0.0-20210408192840-02d7211d929d // indirect
	github.com/google/go-jsonnet v0.17.0 // indirect
	github.com/influxdata/go-prompt v0.2.8 // indirect
	github.com/influxdata/influx-cli/v2 v2.7.1-0.20250130214939-76d1c4d9b777 // indirect
	github.com/influxdata/influxdb/v2 v2.3.0 // indirect
	github.com/kballard/go-shellquote v0.0.0-20180428030007-95032a82bc51 // indirect
	github.com/lucasb-eyer/go-colorful v1.2.0 // indirect
	github.com/mattn/go-colorable v0.1.12 // indirect
	github.com/mattn/go-isatty v0.0.14 // indirect
	github.com/mattn/go-runewidth v0.0.13 // indirect
	github.com/mattn/go-tty v0.0.4 // indirect
	github.com/mgutz/ansi v0.0.0-20170206155736-9520e82c474b // indirect
	github.com/muesli/ansi v0.0.0-20211031195517-c9f0611b6c70 // indirect
	github.com/muesli/cancelreader v0.2.0 // indirect
	github.com/muesli/reflow v0.3.0 // indirect
	github.com/muesli/termenv v0.12.0 // indirect
	github.com/olekukonko/tablewriter v0.0.5 // indirect
	github.com/pkg/term v1.2.0-beta.2 // indirect
	github.com/rivo/uniseg v0.2.0 // indirect
	github.com/russross/blackfriday/v2 v2.1.0 // indirect
	github.com/urfave/cli v1.22.5 // indirect
	go.etcd.io/bbolt v1.3.6 // indirect
	golang.org/x/sys v0.7.0 // indirect
	golang.org/x/term v0.0.0-20220526004731-065cf7ba2467 // indirect
	golang.org/x/text v0.3.8 // indirect
	golang.org/x/time v0.0.0-20210220033141-f8bda1e9f3ba // indirect
	google.golang.org/protobuf v1.33.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
