import { useEffect } from "react";
import { whenUnauthorized } from "./api/client";
import { events } from "./api/events";
import { InventoryProvider } from "./api/inventory";
import { logout, SessionGate, SessionProvider } from "./api/session";
import { LoginPage } from "./layout/LoginPage";
import { Shell } from "./layout/Shell";
import { useRoute, type Route } from "./routes";
import { HostPage } from "./pages/HostPage";
import { SearchPage } from "./pages/SearchPage";
import { VmPage } from "./pages/vm/VmPage";
import { StoragePage } from "./pages/storage/StoragePage";
import { NetworkPage } from "./pages/storage/NetworkPage";
import { AdminPage } from "./pages/admin/AdminPage";
import { CreateVmWizard } from "./wizard/CreateVmWizard";
import { ConsoleWindow } from "./consoles/ConsoleWindow";
import { useTheme } from "./layout/theme";

export function App() {
  useTheme();
  return (
    <SessionGate login={(done) => <LoginPage onLoggedIn={done} />}>
      {(username) => <LoggedIn username={username} />}
    </SessionGate>
  );
}

function LoggedIn({ username }: { username: string }) {
  const route = useRoute();
  useEffect(() => {
    events.start();
    // A session that ended (expired, logged out elsewhere) brings the login page back.
    whenUnauthorized(() => window.location.reload());
    return () => events.stop();
  }, []);
  const session = {
    username,
    logout: async () => {
      await logout();
      window.location.hash = "#/";
      window.location.reload();
    },
  };
  return (
    <SessionProvider value={session}>
      <InventoryProvider>
        {route.page === "console" ? (
          // A console in a window of its own: nothing but the console.
          <ConsoleWindow name={route.name} kind={route.kind} />
        ) : (
          <Shell route={route}>
            <Page route={route} />
          </Shell>
        )}
      </InventoryProvider>
    </SessionProvider>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "home":
    case "host":
      return <HostPage />;
    case "vm":
      return <VmPage name={route.name} tab={route.tab} />;
    case "storage":
      return <StoragePage name={route.name} />;
    case "network":
      return <NetworkPage name={route.name} />;
    case "search":
      return <SearchPage query={route.query} />;
    case "create-vm":
      return <CreateVmWizard />;
    case "admin":
      return <AdminPage section={route.section} />;
    case "console":
      return null;
  }
}
