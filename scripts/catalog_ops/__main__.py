from catalog_ops.cli import main

raise SystemExit(main())
