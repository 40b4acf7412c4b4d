using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Vessel.Server.Inventory.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class VmPlacementRules : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "KeepApartFrom",
                table: "Vms",
                type: "TEXT",
                nullable: false,
                defaultValue: "");

            migrationBuilder.AddColumn<string>(
                name: "KeepTogetherWith",
                table: "Vms",
                type: "TEXT",
                nullable: false,
                defaultValue: "");

            migrationBuilder.AddColumn<bool>(
                name: "PinToHost",
                table: "Vms",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "KeepApartFrom",
                table: "Vms");

            migrationBuilder.DropColumn(
                name: "KeepTogetherWith",
                table: "Vms");

            migrationBuilder.DropColumn(
                name: "PinToHost",
                table: "Vms");
        }
    }
}
