module routelab/clients/go/lookuptable

go 1.19
