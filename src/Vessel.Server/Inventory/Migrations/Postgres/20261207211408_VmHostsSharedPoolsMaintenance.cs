using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Vessel.Server.Inventory.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class VmHostsSharedPoolsMaintenance : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<Guid>(
                name: "HostId",
                table: "Vms",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "Shared",
                table: "Pools",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<bool>(
                name: "Maintenance",
                table: "Hosts",
                type: "boolean",
                nullable: false,
                defaultValue: false);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "HostId",
                table: "Vms");

            migrationBuilder.DropColumn(
                name: "Shared",
                table: "Pools");

            migrationBuilder.DropColumn(
                name: "Maintenance",
                table: "Hosts");
        }
    }
}
