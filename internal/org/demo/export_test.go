package demo

// SavedGatewayPort is the gateway port the next run in dir asks for.
func SavedGatewayPort(dir string) (int, error) {
	s, err := loadState(dir)
	return s.GatewayPort, err
}

// SaveGatewayPort makes the next run in dir ask for port, as if an
// earlier run's gateway had it.
func SaveGatewayPort(dir string, port int) error {
	s, err := loadState(dir)
	if err != nil {
		return err
	}
	s.GatewayPort = port
	return saveState(dir, s)
}
